/**
 * `npm run bench`: figures on stdout, one `name: value unit` per line; progress on stderr.
 *
 * Needs a MongoDB-wire server (MONGODB_URI). Seeds a dedicated database through the project's
 * own store, measures GET /api/me through the real stack against a bare floor server, token
 * verification alone, and the cold import of every api/ function; then drops the database.
 * Absolute database timings depend on the server (FerretDB here): compare ratios.
 *
 * Optional: BENCH_DB_NAME (clerk_mongo_sync_bench_<pid>), BENCH_USERS (1000),
 * BENCH_CONNECTIONS (16), BENCH_WARMUP_SECONDS (3), BENCH_DURATION_SECONDS (10), BENCH_API_ROUNDS (5:
 * ours then the floor, interleaved; median and worst ratio reported), BENCH_API_PARTS
 * (me,tokens,cold-start: which of the three to run), BENCH_API_CPU_PROF (a directory: both
 * servers run with `node --cpu-prof` and write their profiles under me/ and floor/ on exit).
 */
import type { Connection } from "mongoose";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { closeMongoConnections, connectMongo } from "../lib/db/connection.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import { userModelFor } from "../lib/users/user-model.js";
import { createUserStore } from "../lib/users/user-store.js";
import { benchApiMe } from "./api-me.js";
import { benchColdStart } from "./cold-start.js";
import { describeRun, log, stopAllChildren } from "./common.js";
import { benchTokenVerification } from "./token-verification.js";
import { createBenchClerk } from "./tokens.js";

// stdout holds the figures only: libraries' console.log (e.g. Clerk's telemetry notice) goes to stderr.
console.log = console.error;

const mongoUri = process.env.MONGODB_URI;
if (!mongoUri) {
  process.stderr.write(
    'npm run bench needs a MongoDB-wire server in MONGODB_URI. Start one first:\n  eval "$(bash ../shared/tools/ferretdb.sh start)"\nthen run npm run bench again.\n',
  );
  process.exit(1);
}
const intEnv = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
// One database per run, so two runs on one server cannot drop each other's users.
const dbName = process.env.BENCH_DB_NAME ?? `clerk_mongo_sync_bench_${process.pid}`;
const userCount = intEnv("BENCH_USERS", 1_000);
const parts = new Set((process.env.BENCH_API_PARTS ?? "me,tokens,cold-start").split(",").map((part) => part.trim()));

let connection: Connection | undefined;
let cleaning: Promise<void> | undefined;

/** Stops every child process and drops the bench database; safe to call twice. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllChildren();
    try {
      await connection?.dropDatabase();
    } catch (error) {
      log(`could not drop ${dbName}: ${error instanceof Error ? error.message : String(error)}`);
    }
    await closeMongoConnections();
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** `count` users as Clerk would send them, stored through the same sync rules as the webhooks. */
async function seedUsers(db: Connection, count: number): Promise<string[]> {
  const store = createUserStore(userModelFor(db));
  const ids = Array.from({ length: count }, (_, i) => `user_bench${String(i).padStart(6, "0")}`);
  const at = Date.now();
  const seedOne = (id: string) => {
    const clerkUser = clerkUserSchema.parse({
      id,
      object: "user",
      username: id,
      first_name: "Ada",
      last_name: `Bench ${id.slice(-6)}`,
      image_url: `https://img.clerk.com/${id}.png`,
      primary_email_address_id: `idn_${id}`,
      email_addresses: [{ id: `idn_${id}`, email_address: `${id}@example.com`, verification: { status: "verified" } }],
      public_metadata: {},
      banned: false,
      locked: false,
      created_at: at,
      updated_at: at,
    });
    return store.apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUser) });
  };
  for (let i = 0; i < ids.length; i += 20) await Promise.all(ids.slice(i, i + 20).map(seedOne));
  return ids;
}

try {
  const started = performance.now();
  await describeRun("api");
  connection = await connectMongo({ uri: mongoUri, dbName, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 });
  await connection.dropDatabase();
  log(`seeding ${userCount} users into ${dbName}`);
  const ids = await seedUsers(connection, userCount);
  const clerk = await createBenchClerk();
  const tokens = await clerk.sign(ids, 3_600);

  if (parts.has("me")) await benchApiMe({
    mongoUri,
    dbName,
    tokens,
    clerkEnv: clerk.env,
    connections: intEnv("BENCH_CONNECTIONS", 16),
    warmupSeconds: intEnv("BENCH_WARMUP_SECONDS", 3),
    durationSeconds: intEnv("BENCH_DURATION_SECONDS", 10),
    rounds: Math.max(1, intEnv("BENCH_API_ROUNDS", 5)),
    cpuProfileDir: process.env.BENCH_API_CPU_PROF,
  });
  if (parts.has("tokens")) await benchTokenVerification([...tokens.values()], clerk.env);
  if (parts.has("cold-start")) await benchColdStart();
  log(`done in ${Math.round((performance.now() - started) / 1_000)} s`);
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
