/**
 * Reconciliation against Clerk's user list: `npx tsx bench/reconciliation.ts`.
 * Figures on stdout (`name: value unit`), progress on stderr (with the date, the commit and the
 * machine's load at start and end).
 *
 * A Clerk Backend API stand-in on 127.0.0.1 (bench/support/clerk-stand-in.ts) serves the users;
 * each measured run is a fresh worker process (bench/support/reconcile-worker.ts, bundled to
 * JavaScript first) so its peak RSS is its own; database round trips are counted with the
 * driver's command monitoring.
 *
 * 1. BENCH_RECONCILE_SMALL users (10,000): OURS through the CLI's path (`runReconciliation`),
 *    OURS through the Inngest job's path (`reconcile-users` run by `@inngest/test`'s engine) and
 *    NAIVE (page through the same list, one `findOneAndUpdate(upsert)` per user), interleaved
 *    run by run (CLI, Inngest, NAIVE, CLI, ...), BENCH_RECONCILE_RUNS times each: cold (empty
 *    database, dropped before each run), then steady (in sync, then a fresh
 *    BENCH_RECONCILE_DRIFT_PERCENT of users changed in Clerk before each run). Each run's
 *    speedup is NAIVE's time over OURS' in the same round; the median and the worst are printed.
 *    Round trips per 500 users sit beside their budget, 2 + changed/500.
 * 2. BENCH_RECONCILE_LARGE users (100,000; 0 skips): OURS (CLI path) once, cold then steady:
 *    wall time, round trips and peak RSS.
 *
 * Pacing is set out of the way: at Clerk's production limit (1,000 requests / 10 s) a run of
 * N users needs N/500 list pages, i.e. >= 0.2 s of pacing at 10k and >= 2 s at 100k (10x that
 * on a development instance), whatever the database does. Absolute database timings are
 * FerretDB's here: compare ratios and round trips. The machine may be shared: say so with any
 * figure from it.
 *
 * Each run has a time limit; a run stopped there prints `..._partial_*` figures (how far it
 * got), never a completed figure. A steady run whose database is not in sync (its cold run was
 * stopped) is seeded directly first.
 *
 * Env: MONGODB_URI (required), BENCH_RECONCILE_SMALL (10000; 0 skips), BENCH_RECONCILE_RUNS (5),
 * BENCH_RECONCILE_LARGE (100000; 0 skips), BENCH_RECONCILE_DRIFT_PERCENT (1), BENCH_RECONCILE_VARIANTS
 * (the small runs' variants, comma-separated: cli,inngest,naive by default; fewer only for development),
 * BENCH_RECONCILE_SMALL_TIMEOUT_S and BENCH_RECONCILE_LARGE_TIMEOUT_S (240 and 900 s, per run),
 * BENCH_RECONCILE_PROFILE (a directory: each OURS worker writes a `--cpu-prof` and a
 * `--heap-prof` profile there), BENCH_RECONCILE_WORKER_NODE_ARGS (Node options for the CLI variant's workers instead of those of
 * package.json's `sync` script, which they run with by default; printed with each run). Quick iteration: BENCH_RECONCILE_SMALL=2000
 * BENCH_RECONCILE_LARGE=0 BENCH_RECONCILE_RUNS=1 (under a minute).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { UserJSON } from "@clerk/backend";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import { clerkUser } from "../test/support/clerk-fixtures.js";
import { root } from "./common.js";
import { startClerkStandIn, type ClerkStandIn } from "./support/clerk-stand-in.js";
import {
  bundleWorker,
  figure,
  intEnv,
  keepStdoutForFigures,
  log,
  logRunContext,
  type MemoryBreakdown,
  openBenchDatabase,
  requireMongoUri,
  runWorker,
  seededRandom,
  stopWorkers,
  WorkerTimeoutError,
} from "./support/reconcile-harness.js";
import type { ReconcileJob, ReconcileProgress, ReconcileResult, ReconcileVariant } from "./support/reconcile-worker.js";

keepStdoutForFigures();
const mongoUri = requireMongoUri();
const smallSize = intEnv("BENCH_RECONCILE_SMALL", 10_000);
const runs = Math.max(1, intEnv("BENCH_RECONCILE_RUNS", 5));
const largeSize = intEnv("BENCH_RECONCILE_LARGE", 100_000);
const driftPercent = Number(process.env.BENCH_RECONCILE_DRIFT_PERCENT ?? 1);
const smallTimeoutMs = intEnv("BENCH_RECONCILE_SMALL_TIMEOUT_S", 240) * 1000;
const largeTimeoutMs = intEnv("BENCH_RECONCILE_LARGE_TIMEOUT_S", 900) * 1000;
const profileDir = process.env.BENCH_RECONCILE_PROFILE;
/**
 * Node/V8 options for the CLI variant's workers: by default the ones `npm run sync` runs with
 * (package.json), so the bench measures the memory production gets; BENCH_RECONCILE_WORKER_NODE_ARGS
 * replaces them (development). Logged with every run. The Inngest and naive variants run with Node's defaults.
 */
const cliNodeArgs = (process.env.BENCH_RECONCILE_WORKER_NODE_ARGS ?? syncScriptNodeArgs()).split(" ").filter(Boolean);

/** The options between `node` and `--import tsx` in package.json's `sync` script. */
function syncScriptNodeArgs(): string {
  const script: string = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts.sync;
  const options = /^node ((?:--[\w-]+(?:=\S+)? )*)--import tsx /.exec(script);
  if (!options) throw new Error(`package.json's sync script is not "node [options] --import tsx ...": ${script}`);
  return options[1]!.trim();
}
const secretKey = "sk_test_bench_reconcile";
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
      await dropAll([...databases]);
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

const memory = (at: MemoryBreakdown) =>
  `rss ${at.rssMb.toFixed(0)} = heap ${at.heapUsedMb.toFixed(0)}/${at.heapTotalMb.toFixed(0)} + external ${at.externalMb.toFixed(0)} (array buffers ${at.arrayBuffersMb.toFixed(0)}) + the rest MB`;

type Measured = { complete: ReconcileResult } | { partial: ReconcileProgress | undefined; limitMs: number };

const workerScript = bundleWorker("bench/support/reconcile-worker.ts");

async function measure(label: string, variant: ReconcileVariant, dbName: string, expect: ReconcileJob["expect"], timeoutMs: number): Promise<Measured> {
  databases.add(dbName);
  const job: ReconcileJob = { variant, mongoUri, dbName, clerkUrl: standIn!.url, secretKey, expect };
  const workerNodeArgs = variant === "cli" ? cliNodeArgs : [];
  const nodeArgs = [...workerNodeArgs, ...(profileDir && variant !== "naive" ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--heap-prof", `--heap-prof-dir=${profileDir}`] : [])];
  try {
    const result = await runWorker<ReconcileResult, ReconcileProgress>(workerScript, job, { label, timeoutMs, nodeArgs });
    log(
      `${label}${workerNodeArgs.length > 0 ? ` (node ${workerNodeArgs.join(" ")})` : ""}: ${Math.round(result.ms)} ms; ${result.roundTrips} database round trips ${JSON.stringify(result.commands)} waiting ` +
        `${JSON.stringify(result.commandMs)} ms; ${result.clerkRequests} Clerk requests waiting ${Math.round(result.clerkMs)} ms; ` +
        `peak RSS ${result.peakRssMb.toFixed(0)} MB (${result.baselineRssMb.toFixed(0)} MB at start, heap ${result.heapUsedMb.toFixed(0)} MB at end; ` +
        `at start ${memory(result.atStart)}, at the sampled peak ${memory(result.atPeak)})` +
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

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const completed = (measured: Measured[]) => measured.flatMap((one) => ("complete" in one ? [one.complete] : []));

/** A variant's figures over its runs: the median (and the worst where it matters). */
function reportRuns(prefix: string, measured: Measured[], users: number): void {
  const done = completed(measured);
  if (done.length < measured.length) figure(`${prefix}_runs_stopped_at_time_limit`, measured.length - done.length, "runs");
  if (done.length === 0) return;
  figure(`${prefix}_ms_median`, median(done.map((run) => run.ms)), "ms", 0);
  figure(`${prefix}_ms_worst`, Math.max(...done.map((run) => run.ms)), "ms", 0);
  figure(`${prefix}_round_trips_median`, median(done.map((run) => run.roundTrips)), "commands");
  figure(`${prefix}_round_trips_per_500_users`, median(done.map((run) => run.roundTrips)) / (users / 500), "commands", 2);
  figure(`${prefix}_db_wait_ms_median`, median(done.map((run) => Object.values(run.commandMs).reduce((sum, ms) => sum + ms, 0))), "ms", 0);
  figure(`${prefix}_clerk_requests_median`, median(done.map((run) => run.clerkRequests)), "requests");
  figure(`${prefix}_peak_rss_mb_worst`, Math.max(...done.map((run) => run.peakRssMb)), "MB", 0);
  figure(`${prefix}_rss_at_start_mb_median`, median(done.map((run) => run.baselineRssMb)), "MB", 0);
}

/** NAIVE's time over OURS' in each round (the two ran back to back): the median and the worst round. */
function reportSpeedup(prefix: string, ours: Measured[], naive: Measured[]): void {
  const ratios = ours.flatMap((one, round) => {
    const other = naive[round];
    return "complete" in one && other && "complete" in other ? [other.complete.ms / one.complete.ms] : [];
  });
  if (ratios.length === 0) return log(`${prefix}: no speedup (no round where both completed)`);
  figure(`${prefix}_speedup_median`, median(ratios), "x", 1);
  figure(`${prefix}_speedup_worst`, Math.min(...ratios), "x", 1);
  log(`${prefix}: speedup by round ${ratios.map((ratio) => ratio.toFixed(1)).join(", ")}`);
}

function reportOnce(prefix: string, measured: Measured, users: number): void {
  if ("complete" in measured) return reportRuns(prefix, [measured], users);
  // Stopped at its time limit: how far it got, never a completed figure.
  const progress = measured.partial;
  figure(`${prefix}_partial_ms`, progress?.ms ?? measured.limitMs, "ms", 0);
  figure(`${prefix}_partial_users_applied`, progress?.applied ?? 0, "users");
  figure(`${prefix}_partial_round_trips`, progress?.roundTrips ?? 0, "commands");
  if (progress) figure(`${prefix}_partial_peak_rss_mb`, progress.peakRssMb, "MB", 0);
}

const sizeLabel = (size: number) => (size % 1000 === 0 ? `${size / 1000}k` : String(size));
const sampleOf = (clerk: ClerkUsers, indexes: number[], max = 200) => indexes.slice(0, max).map((index) => clerk.expected(index));

/** Writes Clerk's current users straight into `dbName` (the in-sync state), for a steady run whose database is not in sync. */
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

/**
 * What the outbox sweep (publish-pending-app-events, every few minutes) does after a CLI run,
 * which leaves its app events in the users' outboxes: without it each CLI run's users would carry
 * every earlier run's events, and FerretDB reads whole documents. Outside the timing.
 */
async function drainOutboxes(dbName: string): Promise<void> {
  const db = await openBenchDatabase(mongoUri, dbName);
  try {
    await db.users.collection.updateMany({ outbox: { $exists: true } }, { $unset: { outbox: 1 } });
  } finally {
    await db.close();
  }
}

async function dropAll(names: string[]): Promise<void> {
  const admin = await openBenchDatabase(mongoUri, "cms_bench_reconcile_admin");
  for (const name of names) await admin.connection.useDb(name, { useCache: false }).dropDatabase();
  await admin.close();
}

const allVariants: readonly ReconcileVariant[] = ["cli", "inngest", "naive"];
/** BENCH_RECONCILE_VARIANTS (comma-separated, for development): the small runs' variants; every one by default. */
const variants: ReconcileVariant[] = (process.env.BENCH_RECONCILE_VARIANTS ?? allVariants.join(",")).split(",").map((name) => {
  const variant = name.trim() as ReconcileVariant;
  if (!allVariants.includes(variant)) throw new Error(`BENCH_RECONCILE_VARIANTS: unknown variant ${JSON.stringify(name)} (have ${allVariants.join(", ")})`);
  return variant;
});

logRunContext("start");
try {
  // 1. OURS (both paths) vs NAIVE, interleaved, on the same Clerk users.
  if (smallSize > 0) {
    const label = sizeLabel(smallSize);
    const dbOf = (variant: ReconcileVariant) => `cms_bench_reconcile_${label}_${variant}`;
    const { clerk, standIn: server } = await serve(smallSize);
    const firstUsers = sampleOf(clerk, seededRandom(1).sample(smallSize, 200));
    const cold = new Map<ReconcileVariant, Measured[]>(variants.map((variant) => [variant, []]));
    const steady = new Map<ReconcileVariant, Measured[]>(variants.map((variant) => [variant, []]));

    for (let round = 1; round <= runs; round += 1) {
      for (const variant of variants) {
        await dropAll([dbOf(variant)]);
        const expect = { total: smallSize, sample: firstUsers, ...(variant !== "naive" && { counts: { created: smallSize, updated: 0, tombstoned: 0 } }) };
        cold.get(variant)?.push(await measure(`${label} cold ${variant} #${round}`, variant, dbOf(variant), expect, smallTimeoutMs));
        if (variant === "cli") await drainOutboxes(dbOf(variant));
      }
    }
    for (const variant of variants) if (!(cold.get(variant) ?? []).some((run) => "complete" in run)) await seedInSync(clerk, dbOf(variant));

    for (let round = 1; round <= runs; round += 1) {
      const changed = drift(clerk, server, driftPercent, 100 + round);
      log(`steady round ${round}: ${changed.length} users changed in Clerk`);
      for (const variant of variants) {
        const expect = {
          total: smallSize,
          sample: sampleOf(clerk, changed),
          ...(variant !== "naive" && { counts: { created: 0, updated: changed.length, unchanged: smallSize - changed.length, tombstoned: 0 } }),
        };
        const measured = await measure(`${label} steady ${variant} #${round}`, variant, dbOf(variant), expect, smallTimeoutMs);
        steady.get(variant)?.push(measured);
        if (variant === "cli") await drainOutboxes(dbOf(variant));
        if (!("complete" in measured)) await seedInSync(clerk, dbOf(variant));
      }
    }

    const changedPerRun = Math.round((smallSize * driftPercent) / 100);
    for (const [phase, results] of [
      ["cold", cold],
      ["steady", steady],
    ] as const) {
      for (const variant of variants) reportRuns(`reconcile_${label}_${phase}_${variant === "naive" ? "naive" : `ours_${variant}`}`, results.get(variant) ?? [], smallSize);
      reportSpeedup(`reconcile_${label}_${phase}_ours_cli`, results.get("cli") ?? [], results.get("naive") ?? []);
      reportSpeedup(`reconcile_${label}_${phase}_ours_inngest`, results.get("inngest") ?? [], results.get("naive") ?? []);
      // The budget: 2 round trips per 500 users, plus one per 500 changed (cold: every user is new).
      const changed = phase === "cold" ? smallSize : changedPerRun;
      figure(`reconcile_${label}_${phase}_round_trip_budget_per_500_users`, 2 + changed / smallSize, "commands", 2);
    }
    await dropAll(variants.map(dbOf));
  }

  // 2. OURS alone at scale, through the CLI's path.
  if (largeSize > 0) {
    const label = sizeLabel(largeSize);
    const dbName = `cms_bench_reconcile_${label}_cli`;
    await dropAll([dbName]);
    const { clerk, standIn: server } = await serve(largeSize);
    const firstUsers = sampleOf(clerk, seededRandom(3).sample(largeSize, 200));
    const cold = await measure(`${label} cold cli`, "cli", dbName, { total: largeSize, counts: { created: largeSize, updated: 0, tombstoned: 0 }, sample: firstUsers }, largeTimeoutMs);
    reportOnce(`reconcile_${label}_cold_ours_cli`, cold, largeSize);
    // The in-sync state with its outboxes drained, written directly: draining 100k outboxes one
    // update at a time takes minutes on FerretDB.
    log(`${label} ${"complete" in cold ? "cold finished" : "cold did not finish within its limit"}: seeding the in-sync state (outboxes drained) for the steady run`);
    await seedInSync(clerk, dbName);
    const changed = drift(clerk, server, driftPercent, 4);
    log(`${changed.length} users changed in Clerk`);
    const steady = await measure(
      `${label} steady cli`,
      "cli",
      dbName,
      { total: largeSize, counts: { created: 0, updated: changed.length, unchanged: largeSize - changed.length, tombstoned: 0 }, sample: sampleOf(clerk, changed) },
      largeTimeoutMs,
    );
    reportOnce(`reconcile_${label}_steady_ours_cli`, steady, largeSize);
    figure(`reconcile_${label}_steady_round_trip_budget_per_500_users`, 2 + changed.length / largeSize, "commands", 2);
    await dropAll([dbName]);
  }
  logRunContext(`done in ${Math.round((Date.now() - started) / 1000)} s`);
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
