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
 * Pacing is set out of the way (Clerk's real limit, 1,000 requests / 10 s, would make a 10k
 * scan take ≥ 0.2 s of pacing and a 100k one ≥ 2 s plus the sweep's lookups).
 * Absolute database timings are FerretDB's here: compare ratios and round trips.
 *
 * Env: MONGODB_URI (required), BENCH_RECONCILE_SMALL (10000), BENCH_RECONCILE_LARGE (100000),
 * BENCH_RECONCILE_DRIFT_PERCENT (1), BENCH_RECONCILE_LARGE_TIMEOUT_S (240, per large run).
 */
import type { UserJSON } from "@clerk/backend";
import { clerkUser } from "../test/support/clerk-fixtures.js";
import { startClerkStandIn, type ClerkStandIn } from "./support/clerk-stand-in.js";
import {
  figure,
  intEnv,
  keepStdoutForFigures,
  log,
  openBenchDatabase,
  requireMongoUri,
  runWorker,
  seededRandom,
  stopWorkers,
  WorkerTimeoutError,
} from "./support/reconcile-harness.js";
import type { ReconcileJob, ReconcileResult } from "./support/reconcile-worker.js";

keepStdoutForFigures();
const mongoUri = requireMongoUri();
const smallSize = intEnv("BENCH_RECONCILE_SMALL", 10_000);
const largeSize = intEnv("BENCH_RECONCILE_LARGE", 100_000);
const driftPercent = Number(process.env.BENCH_RECONCILE_DRIFT_PERCENT ?? 1);
const largeTimeoutMs = intEnv("BENCH_RECONCILE_LARGE_TIMEOUT_S", 240) * 1000;
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

async function measure(
  label: string,
  variant: ReconcileJob["variant"],
  dbName: string,
  expect: ReconcileJob["expect"],
  timeoutMs: number,
): Promise<ReconcileResult> {
  databases.add(dbName);
  log(`${label}: running`);
  const job: ReconcileJob = { variant, mongoUri, dbName, clerkUrl: standIn!.url, secretKey, expect };
  const result = await runWorker<ReconcileResult>(workerScript, job, { label, timeoutMs });
  log(
    `${label}: ${Math.round(result.ms)} ms, ${result.roundTrips} round trips ${JSON.stringify(result.commands)} taking ${JSON.stringify(result.commandMs)} ms, ` +
      `${result.clerkRequests} Clerk requests, peak RSS ${result.peakRssMb.toFixed(0)} MB (at start ${result.baselineRssMb.toFixed(0)} MB)` +
      (result.counts ? `, counts ${JSON.stringify(result.counts)}` : ""),
  );
  return result;
}

function report(prefix: string, result: ReconcileResult): void {
  figure(`${prefix}_ms`, result.ms, "ms", 0);
  figure(`${prefix}_round_trips`, result.roundTrips, "commands");
  figure(`${prefix}_clerk_requests`, result.clerkRequests, "requests");
  figure(`${prefix}_peak_rss_mb`, result.peakRssMb, "MB", 0);
}

const sizeLabel = (size: number) => (size % 1000 === 0 ? `${size / 1000}k` : String(size));
const sampleOf = (clerk: ClerkUsers, indexes: number[], max = 200) => indexes.slice(0, max).map((index) => clerk.expected(index));

async function dropAll(names: string[]): Promise<void> {
  const admin = await openBenchDatabase(mongoUri, "cms_bench_reconcile_admin");
  for (const name of names) await admin.connection.useDb(name, { useCache: false }).dropDatabase();
  await admin.close();
}

try {
  // 1. OURS vs NAIVE, side by side, on the same Clerk users.
  {
    const label = sizeLabel(smallSize);
    const oursDb = `cms_bench_reconcile_${label}_ours`;
    const naiveDb = `cms_bench_reconcile_${label}_naive`;
    await dropAll([oursDb, naiveDb]);
    const { clerk, standIn: server } = await serve(smallSize);
    const firstUsers = sampleOf(clerk, seededRandom(1).sample(smallSize, 200));
    const timeout = 300_000;

    const coldOurs = await measure(`${label} cold ours`, "ours", oursDb, { total: smallSize, counts: { created: smallSize, updated: 0, tombstoned: 0 }, sample: firstUsers }, timeout);
    const coldNaive = await measure(`${label} cold naive`, "naive", naiveDb, { total: smallSize, sample: firstUsers }, timeout);
    const changed = drift(clerk, server, driftPercent, 2);
    log(`${changed.length} users changed in Clerk`);
    const steadyExpect = { total: smallSize, sample: sampleOf(clerk, changed) };
    const steadyOurs = await measure(
      `${label} steady ours`,
      "ours",
      oursDb,
      { ...steadyExpect, counts: { created: 0, updated: changed.length, unchanged: smallSize - changed.length, tombstoned: 0 } },
      timeout,
    );
    const steadyNaive = await measure(`${label} steady naive`, "naive", naiveDb, steadyExpect, timeout);

    for (const [phase, ours, naive] of [
      ["cold", coldOurs, coldNaive],
      ["steady", steadyOurs, steadyNaive],
    ] as const) {
      report(`reconcile_${label}_${phase}_ours`, ours);
      report(`reconcile_${label}_${phase}_naive`, naive);
      figure(`reconcile_${label}_${phase}_speedup`, naive.ms / ours.ms, "x", 1);
      figure(`reconcile_${label}_${phase}_round_trip_ratio`, naive.roundTrips / ours.roundTrips, "x", 0);
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
    let cold: ReconcileResult | undefined;
    try {
      cold = await measure(`${label} cold ours`, "ours", dbName, { total: largeSize, counts: { created: largeSize, updated: 0, tombstoned: 0 }, sample: firstUsers }, largeTimeoutMs);
      report(`reconcile_${label}_cold_ours`, cold);
    } catch (error) {
      if (!(error instanceof WorkerTimeoutError)) throw error;
      log(`${error.message}: no ${label} cold figures (set BENCH_RECONCILE_LARGE smaller, or BENCH_RECONCILE_LARGE_TIMEOUT_S larger)`);
    }
    if (cold) {
      const changed = drift(clerk, server, driftPercent, 4);
      log(`${changed.length} users changed in Clerk`);
      try {
        const steady = await measure(
          `${label} steady ours`,
          "ours",
          dbName,
          { total: largeSize, counts: { created: 0, updated: changed.length, unchanged: largeSize - changed.length, tombstoned: 0 }, sample: sampleOf(clerk, changed) },
          largeTimeoutMs,
        );
        report(`reconcile_${label}_steady_ours`, steady);
      } catch (error) {
        if (!(error instanceof WorkerTimeoutError)) throw error;
        log(`${error.message}: no ${label} steady figures`);
      }
    }
    await dropAll([dbName]);
  }
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
