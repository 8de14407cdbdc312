/**
 * Reconciliation against Clerk's user list: `npx tsx bench/reconciliation.ts`.
 * Figures on stdout (`name: value unit`), progress on stderr.
 *
 * A Clerk Backend API stand-in on 127.0.0.1 (bench/support/clerk-stand-in.ts) serves the users;
 * each measured run is a fresh worker process (bench/support/reconcile-worker.ts) so its peak
 * RSS is its own; database round trips are counted with the driver's command monitoring.
 *
 * - 10k users: OURS (`runReconciliation`, real store: one read + one bulkWrite a page, then the
 *   sweep) vs NAIVE (page through the same list, one `findOneAndUpdate(upsert)` per user),
 *   cold (empty database) and steady (in sync, then 1% of users changed in Clerk).
 * - BENCH_RECONCILE_LARGE users (default 100000; 0 skips): OURS alone, cold and steady.
 *
 * Pacing is set out of the way: at Clerk's production limit (1,000 requests / 10 s) a run of
 * N users needs N/500 list pages + N/100 sweep lookups, i.e. ≥ 1.2 s of pacing at 10k and
 * ≥ 12 s at 100k (10× that on a development instance), whatever the database does.
 * Absolute database timings are FerretDB's here: compare ratios and round trips.
 *
 * Each run has a time limit; a run stopped there prints `..._partial_*` figures (how far it got,
 * peak RSS so far), never a completed figure. If a cold run was stopped, the in-sync state is
 * written directly before its steady run.
 *
 * Env: MONGODB_URI (required), BENCH_RECONCILE_SMALL (10000), BENCH_RECONCILE_LARGE (100000; 0
 * skips), BENCH_RECONCILE_DRIFT_PERCENT (1), BENCH_RECONCILE_SMALL_TIMEOUT_S and
 * BENCH_RECONCILE_LARGE_TIMEOUT_S (240 and 120 s, per run).
 */
import type { UserJSON } from "@clerk/backend";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import { clerkUser } from "../test/support/clerk-fixtures.js";
import { startClerkStandIn, type ClerkStandIn } from "./support/clerk-stand-in.js";
import {
  figure,
  intEnv,
  keepStdoutForFigures,
  log,
  logLoad,
  openBenchDatabase,
  requireMongoUri,
  runWorker,
  seededRandom,
  stopWorkers,
  WorkerTimeoutError,
} from "./support/reconcile-harness.js";
import type { ReconcileJob, ReconcileProgress, ReconcileResult } from "./support/reconcile-worker.js";

keepStdoutForFigures();
const mongoUri = requireMongoUri();
const smallSize = intEnv("BENCH_RECONCILE_SMALL", 10_000);
const largeSize = intEnv("BENCH_RECONCILE_LARGE", 100_000);
const driftPercent = Number(process.env.BENCH_RECONCILE_DRIFT_PERCENT ?? 1);
const smallTimeoutMs = intEnv("BENCH_RECONCILE_SMALL_TIMEOUT_S", 240) * 1000;
const largeTimeoutMs = intEnv("BENCH_RECONCILE_LARGE_TIMEOUT_S", 120) * 1000;
const secretKey = "sk_test_bench_reconcile";
const workerScript = "bench/support/reconcile-worker.ts";
const databases = new Set<string>();
const started = Date.now();

let standIn: ClerkStandIn | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopWorkers();
    await standIn?.close();
    if (databases.size === 0) return;
    try {
      const admin = await openBenchDatabase(mongoUri, "cms_bench_reconcile_admin");
      for (const name of databases) await admin.connection.useDb(name, { useCache: false }).dropDatabase();
      await admin.close();
    } catch (error) {
      log(`could not drop ${[...databases].join(", ")}: ${error instanceof Error ? error.message : String(error)}`);
    }
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Clerk's users, generated: index i is created at `base + i s`; each change bumps `updated_at` by a day. */
class ClerkUsers {
  private readonly generation: Uint16Array;
  private static readonly base = Date.UTC(2024, 0, 1);
  constructor(readonly size: number) {
    this.generation = new Uint16Array(size);
  }
  id = (index: number) => `user_bench${String(index).padStart(7, "0")}`;
  firstName = (index: number) => (this.generation[index] ? `Changed${this.generation[index]}` : "Ada");
  updatedAt = (index: number) => ClerkUsers.base + index * 1000 + 5_000 + (this.generation[index] ?? 0) * 86_400_000;
  payload(index: number): UserJSON {
    return clerkUser({
      id: this.id(index),
      createdAt: ClerkUsers.base + index * 1000,
      updatedAt: this.updatedAt(index),
      firstName: this.firstName(index),
      username: `bench${index}`,
      publicMetadata: { plan: index % 10 === 0 ? "pro" : "free" },
    });
  }
  change(index: number) {
    this.generation[index] = (this.generation[index] ?? 0) + 1;
  }
  expected(index: number) {
    return { id: this.id(index), firstName: this.firstName(index), updatedAt: this.updatedAt(index) };
  }
}

async function serve(size: number): Promise<{ clerk: ClerkUsers; standIn: ClerkStandIn }> {
  await standIn?.close();
  const clerk = new ClerkUsers(size);
  const seeding = Date.now();
  standIn = await startClerkStandIn(secretKey);
  for (let index = 0; index < size; index += 1) standIn.put(clerk.payload(index));
  log(`Clerk stand-in at ${standIn.url}: ${size} users in ${Date.now() - seeding} ms`);
  return { clerk, standIn };
}

/** Changes `percent`% of the users in Clerk (newer `updated_at`, a new first name); returns their indexes. */
function drift(clerk: ClerkUsers, server: ClerkStandIn, percent: number, seed: number): number[] {
  const changed = seededRandom(seed).sample(clerk.size, Math.round((clerk.size * percent) / 100));
  for (const index of changed) {
    clerk.change(index);
    server.put(clerk.payload(index));
  }
  return changed;
}

type Measured = { complete: ReconcileResult } | { partial: ReconcileProgress | undefined; limitMs: number };

async function measure(label: string, variant: ReconcileJob["variant"], dbName: string, expect: ReconcileJob["expect"], timeoutMs: number): Promise<Measured> {
  databases.add(dbName);
  log(`${label}: running (time limit ${Math.round(timeoutMs / 1000)} s)`);
  const job: ReconcileJob = { variant, mongoUri, dbName, clerkUrl: standIn!.url, secretKey, expect };
  try {
    const result = await runWorker<ReconcileResult, ReconcileProgress>(workerScript, job, { label, timeoutMs });
    log(
      `${label}: ${Math.round(result.ms)} ms; ${result.roundTrips} database round trips ${JSON.stringify(result.commands)} waiting ` +
        `${JSON.stringify(result.commandMs)} ms; ${result.clerkRequests} Clerk requests waiting ${Math.round(result.clerkMs)} ms; ` +
        `peak RSS ${result.peakRssMb.toFixed(0)} MB (${result.baselineRssMb.toFixed(0)} MB at start)` +
        (result.counts ? `; counts ${JSON.stringify(result.counts)}` : "") +
        "; verified",
    );
    return { complete: result };
  } catch (error) {
    if (!(error instanceof WorkerTimeoutError)) throw error;
    const progress = error.progress as ReconcileProgress | undefined;
    log(`${error.message}; last report at ${progress ? `${Math.round(progress.ms / 1000)} s: ${progress.applied} users applied, ${progress.swept} swept, ${progress.roundTrips} round trips` : "no progress report"}`);
    return { partial: progress, limitMs: timeoutMs };
  }
}

function report(prefix: string, measured: Measured): void {
  if ("complete" in measured) {
    const result = measured.complete;
    figure(`${prefix}_ms`, result.ms, "ms", 0);
    figure(`${prefix}_round_trips`, result.roundTrips, "commands");
    figure(`${prefix}_db_wait_ms`, Object.values(result.commandMs).reduce((sum, ms) => sum + ms, 0), "ms", 0);
    figure(`${prefix}_clerk_requests`, result.clerkRequests, "requests");
    figure(`${prefix}_peak_rss_mb`, result.peakRssMb, "MB", 0);
    figure(`${prefix}_rss_at_start_mb`, result.baselineRssMb, "MB", 0);
    return;
  }
  // Stopped at its time limit: how far it got, never a completed figure.
  const progress = measured.partial;
  figure(`${prefix}_partial_ms`, progress?.ms ?? measured.limitMs, "ms", 0);
  figure(`${prefix}_partial_users_applied`, progress?.applied ?? 0, "users");
  figure(`${prefix}_partial_users_swept`, progress?.swept ?? 0, "users");
  figure(`${prefix}_partial_round_trips`, progress?.roundTrips ?? 0, "commands");
  if (progress) figure(`${prefix}_partial_peak_rss_mb`, progress.peakRssMb, "MB", 0);
}

function compare(prefix: string, ours: Measured, naive: Measured): void {
  if (!("complete" in ours) || !("complete" in naive)) return log(`${prefix}: no ratio (a run did not complete)`);
  figure(`${prefix}_speedup`, naive.complete.ms / ours.complete.ms, "x", 1);
  figure(`${prefix}_round_trip_ratio`, naive.complete.roundTrips / ours.complete.roundTrips, "x", 0);
}

const sizeLabel = (size: number) => (size % 1000 === 0 ? `${size / 1000}k` : String(size));
const sampleOf = (clerk: ClerkUsers, indexes: number[], max = 200) => indexes.slice(0, max).map((index) => clerk.expected(index));

/** Writes Clerk's current users straight into `dbName` (the in-sync state), for a steady run whose cold run did not finish. */
async function seedInSync(clerk: ClerkUsers, dbName: string): Promise<void> {
  const seeding = Date.now();
  const db = await openBenchDatabase(mongoUri, dbName);
  try {
    await db.drop();
    for (let start = 0; start < clerk.size; start += 1_000) {
      const docs = [];
      for (let index = start; index < Math.min(clerk.size, start + 1_000); index += 1) {
        docs.push({ _id: clerk.id(index), ...toUserSnapshot(clerkUserSchema.parse(clerk.payload(index))) });
      }
      await db.users.insertMany(docs);
    }
  } finally {
    await db.close();
  }
  log(`${dbName}: seeded ${clerk.size} users in sync with Clerk in ${Date.now() - seeding} ms`);
}

async function dropAll(names: string[]): Promise<void> {
  const admin = await openBenchDatabase(mongoUri, "cms_bench_reconcile_admin");
  for (const name of names) await admin.connection.useDb(name, { useCache: false }).dropDatabase();
  await admin.close();
}

logLoad("start");
try {
  // 1. OURS vs NAIVE, side by side, on the same Clerk users.
  {
    const label = sizeLabel(smallSize);
    const oursDb = `cms_bench_reconcile_${label}_ours`;
    const naiveDb = `cms_bench_reconcile_${label}_naive`;
    await dropAll([oursDb, naiveDb]);
    const { clerk, standIn: server } = await serve(smallSize);
    const firstUsers = sampleOf(clerk, seededRandom(1).sample(smallSize, 200));

    const coldOurs = await measure(`${label} cold ours`, "ours", oursDb, { total: smallSize, counts: { created: smallSize, updated: 0, tombstoned: 0 }, sample: firstUsers }, smallTimeoutMs);
    const coldNaive = await measure(`${label} cold naive`, "naive", naiveDb, { total: smallSize, sample: firstUsers }, smallTimeoutMs);
    const changed = drift(clerk, server, driftPercent, 2);
    log(`${changed.length} users changed in Clerk`);
    if (!("complete" in coldOurs)) await seedInSync(clerk, oursDb);
    if (!("complete" in coldNaive)) await seedInSync(clerk, naiveDb);
    const steadyExpect = { total: smallSize, sample: sampleOf(clerk, changed) };
    const steadyCounts = { created: 0, updated: changed.length, unchanged: smallSize - changed.length, tombstoned: 0 };
    const steadyOurs = await measure(`${label} steady ours`, "ours", oursDb, { ...steadyExpect, counts: steadyCounts }, smallTimeoutMs);
    const steadyNaive = await measure(`${label} steady naive`, "naive", naiveDb, steadyExpect, smallTimeoutMs);

    for (const [phase, ours, naive] of [
      ["cold", coldOurs, coldNaive],
      ["steady", steadyOurs, steadyNaive],
    ] as const) {
      report(`reconcile_${label}_${phase}_ours`, ours);
      report(`reconcile_${label}_${phase}_naive`, naive);
      compare(`reconcile_${label}_${phase}`, ours, naive);
    }
    await dropAll([oursDb, naiveDb]);
  }

  // 2. OURS alone at scale.
  if (largeSize > 0) {
    const label = sizeLabel(largeSize);
    const dbName = `cms_bench_reconcile_${label}_ours`;
    await dropAll([dbName]);
    const { clerk, standIn: server } = await serve(largeSize);
    const firstUsers = sampleOf(clerk, seededRandom(3).sample(largeSize, 200));
    const cold = await measure(`${label} cold ours`, "ours", dbName, { total: largeSize, counts: { created: largeSize, updated: 0, tombstoned: 0 }, sample: firstUsers }, largeTimeoutMs);
    report(`reconcile_${label}_cold_ours`, cold);
    if (!("complete" in cold)) {
      log(`${label} cold did not finish within its limit: seeding the in-sync state directly for the steady run`);
      await seedInSync(clerk, dbName);
    }
    const changed = drift(clerk, server, driftPercent, 4);
    log(`${changed.length} users changed in Clerk`);
    const steady = await measure(
      `${label} steady ours`,
      "ours",
      dbName,
      { total: largeSize, counts: { created: 0, updated: changed.length, unchanged: largeSize - changed.length, tombstoned: 0 }, sample: sampleOf(clerk, changed) },
      largeTimeoutMs,
    );
    report(`reconcile_${label}_steady_ours`, steady);
    await dropAll([dbName]);
  }
  logLoad(`done in ${Math.round((Date.now() - started) / 1000)} s`);
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
