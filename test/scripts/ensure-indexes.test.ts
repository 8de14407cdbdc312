import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/mongo.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const db = useTestDatabase();

describe("npm run db:indexes", () => {
  it("builds every index the schemas declare, organizations' and memberships' included", async () => {
    await run(process.execPath, ["--import", "tsx", "scripts/ensure-indexes.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH, MONGODB_URI: db.config.uri, MONGODB_DB_NAME: db.config.dbName },
    });
    const indexes = async (collection: string) => Object.keys(await db.connection().collection(collection).indexInformation());
    // "members of X" and "my organizations" pages need these; without them every page scans.
    expect(await indexes("memberships")).toEqual(expect.arrayContaining(["userId_1_removedAt_1__id_1", "organizationId_1_removedAt_1__id_1"]));
    expect(await indexes("users")).toEqual(expect.arrayContaining(["email_1"]));
    expect((await indexes("organizations")).length).toBeGreaterThan(1);
  }, 60_000);
});
