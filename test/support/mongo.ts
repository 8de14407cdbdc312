import type { Connection } from "mongoose";
import { afterAll, beforeEach, inject } from "vitest";
import type { MongoConfig } from "../../lib/config.js";
import { closeMongoConnections, connectMongo } from "../../lib/db/connection.js";
import { type UserModel, userModelFor } from "../../lib/users/user-model.js";

/** A database of this run's and this worker's own (`VITEST_POOL_ID`), emptied before every test, dropped after the file. */
export function useTestDatabase(): { config: MongoConfig; connection: () => Connection; users: () => UserModel } {
  const uri = inject("mongoUri");
  // Provided by test/global-setup.ts, which only the integration project runs (vitest.config.ts).
  if (!uri) throw new Error("no MongoDB in this project: a test that uses the database is an integration test (vitest.config.ts)");
  const config: MongoConfig = {
    uri,
    dbName: `cms_test_${inject("runId")}_${process.env.VITEST_POOL_ID ?? "0"}`,
    maxPoolSize: 10,
    serverSelectionTimeoutMs: 5_000,
    maxIdleTimeMs: 5_000,
  };
  let connection: Connection | undefined;

  beforeEach(async () => {
    connection ??= await connectMongo(config);
    await connection.db?.dropDatabase();
  });
  afterAll(async () => {
    await connection?.db?.dropDatabase();
    await closeMongoConnections();
  });

  const current = () => {
    if (!connection) throw new Error("the test database is connected in beforeEach");
    return connection;
  };
  return { config, connection: current, users: () => userModelFor(current()) };
}

/** FerretDB answers buildInfo with a `ferretdbVersion`; a real mongod does not. */
export async function isFerretDb(connection: Connection): Promise<boolean> {
  const info = (await connection.db?.admin().command({ buildInfo: 1 })) as { ferretdbVersion?: string } | undefined;
  return Boolean(info?.ferretdbVersion);
}
