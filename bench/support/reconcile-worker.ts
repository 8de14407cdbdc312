/**
 * One measured reconciliation run, in a process of its own (started by bench/reconciliation.ts),
 * so that its peak RSS is its own. The parent bundles this file to plain JavaScript first
 * (bench/support/reconcile-harness.ts `bundleWorker`), so the process holds what production
 * runs and not tsx's compiler.
 *
 * Variants, all against the same Clerk stand-in:
 * - `cli`: the path `npm run sync` takes (`startOrResumeRun`, `runReconciliation`, the report
 *   closed) over the sync core every entry point builds (audit trail included).
 * - `inngest`: the `reconcile-users` function, executed by `@inngest/test`'s engine (steps
 *   memoised, the function re-run after each step as Inngest does), over the same core; its
 *   app events go to a counting sink.
 * - `naive`: page through the list, one `findOneAndUpdate(upsert)` per user.
 *
 * Then it verifies the database against what the parent expects, outside the timing. It reports
 * its progress every second, so a run stopped at its time limit still says how far it got.
 */
import type { UserJSON } from "@clerk/backend";
import { createClerkUserDirectory, type ClerkUserDirectory } from "../../lib/clerk/clerk-user-directory.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { createLogger } from "../../lib/logger.js";
import type { ReconcileCounts } from "../../lib/reconcile/counts.js";
import { runReconciliation, startOrResumeRun } from "../../lib/reconcile/run-reconciliation.js";
import { createSyncCore, type SyncCore } from "../../lib/sync-core.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import type { UserModel } from "../../lib/users/user-model.js";
import type { UserStore } from "../../lib/users/user-store.js";
import { type BenchDatabase, keepStdoutForFigures, type MemoryBreakdown, memoryBreakdown, openBenchDatabase, reportProgress, reportToParent, sampleRss, workerJob } from "./reconcile-harness.js";

export type ReconcileVariant = "cli" | "inngest" | "naive";

export interface ReconcileJob {
  variant: ReconcileVariant;
  mongoUri: string;
  dbName: string;
  clerkUrl: string;
  secretKey: string;
  expect: {
    /** Users in Clerk (and, afterwards, documents in the database). */
    total: number;
    /** OURS only: the counts the run must report (those given). */
    counts?: Partial<ReconcileCounts>;
    /** Users whose stored state must match exactly afterwards (e.g. a sample of the changed ones). */
    sample: { id: string; firstName: string; updatedAt: number }[];
  };
}

export interface ReconcileProgress {
  ms: number;
  /** Users of Clerk's list applied to the database so far (scan phase). */
  applied: number;
  /** Stored users checked against Clerk so far (sweep phase, OURS only). */
  swept: number;
  roundTrips: number;
  peakRssMb: number;
}

export interface ReconcileResult extends ReconcileProgress {
  commands: Record<string, number>;
  /** Time spent waiting on the database, per command (ms). */
  commandMs: Record<string, number>;
  /** Time spent waiting on Clerk until each answer is parsed (ms), and requests sent. */
  clerkMs: number;
  clerkRequests: number;
  baselineRssMb: number;
  /** What the memory was made of at the start and at the sampled RSS peak. */
  atStart: MemoryBreakdown;
  atPeak: MemoryBreakdown;
  /** Heap in use after the run (MB), next to the RSS: what is ours and what is the allocator's. */
  heapUsedMb: number;
  counts?: ReconcileCounts;
}

keepStdoutForFigures();
const job = workerJob<ReconcileJob>();
const logger = createLogger("warn");

/** Counts what the scan applied and the sweep looked up, for progress reports. */
const tallies = { applied: 0, swept: 0 };

function countingStore(real: UserStore): UserStore {
  return {
    apply: real.apply,
    applyEvents: real.applyEvents,
    async applyBatch(events, options) {
      const outcomes = await real.applyBatch(events, options);
      tallies.applied += events.length;
      return outcomes;
    },
  };
}

function countingDirectory(directory: ClerkUserDirectory): ClerkUserDirectory {
  return Object.assign(Object.create(directory) as ClerkUserDirectory, {
    findExisting: async (ids: readonly string[]) => {
      const found = await directory.findExisting(ids);
      tallies.swept += ids.length;
      return found;
    },
  });
}

/** The sync core as the entry points build it, on the bench's monitored connection and the stand-in. */
async function syncCore(db: BenchDatabase, directory: ClerkUserDirectory, sendEvents: () => Promise<void>): Promise<SyncCore> {
  const core = await createSyncCore(
    {
      mongo: { uri: job.mongoUri, dbName: job.dbName, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 },
      clerk: { apiUrl: job.clerkUrl, secretKey: job.secretKey },
      reconcile: { maxClerkRequestsPer10Seconds: 1_000_000_000 },
    },
    { logger, connection: db.connection, sendEvents },
  );
  return { ...core, directory, store: countingStore(core.store) };
}

async function runCli(db: BenchDatabase, directory: ClerkUserDirectory): Promise<ReconcileCounts> {
  const core = await syncCore(db, directory, () => Promise.reject(new Error("the CLI does not publish app events")));
  // As scripts/sync.ts: no outbox publisher, the app events stay in the outboxes for the sweep.
  const deps = { directory: core.directory, store: core.store, users: core.users, reports: core.reports, logger };
  const run = await startOrResumeRun(deps, "bench", {});
  const counts = await runReconciliation(deps, run);
  await core.reports.finish(run.id, { counts });
  return counts;
}

async function runInngest(db: BenchDatabase, directory: ClerkUserDirectory): Promise<ReconcileCounts> {
  // Loaded here so the other variants' processes do not hold the Inngest SDK.
  const [{ InngestTestEngine }, { createInngestClient }, { createReconcileUsers }] = await Promise.all([
    import("@inngest/test"),
    import("../../inngest/client.js"),
    import("../../inngest/functions/reconcile-users.js"),
  ]);
  let published = 0;
  const core = await syncCore(db, directory, async () => void (published += 1));
  const inngest = createInngestClient(
    { appId: "clerk-mongo-sync-bench", eventKey: "bench-event-key", signingKey: "signkey-bench-0123456789abcdef", signingKeyFallback: undefined, isDev: false, baseUrl: "http://127.0.0.1:9/", sendTimeoutMs: 1_000, apiSendTimeoutMs: 400 },
    logger,
  );
  const fn = createReconcileUsers(inngest, {
    maintenance: async () => core,
    users: async () => core.store,
    outbox: async () => core.outbox,
    audit: async () => core.audit,
    schedule: { reconcileCron: "0 * * * *", purgeCron: "30 3 * * *", outboxCron: "*/5 * * * *", deletedUserRetentionMs: 30 * 86_400_000, auditRetentionMs: 90 * 86_400_000 },
  });
  const { result, error } = await new InngestTestEngine({ function: fn }).execute({ events: [{ name: "app/users.reconcile.requested", data: {} }] });
  if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
  const { organizations: _organizations, syncFailuresSincePreviousRun: _failures, ...counts } = result as ReconcileCounts & { organizations: unknown; syncFailuresSincePreviousRun: unknown };
  return counts;
}

/** The tutorial way: page through the list, one upsert per user, one at a time. */
async function runNaive(db: BenchDatabase, directory: ClerkUserDirectory): Promise<void> {
  const pageSize = 500;
  for (let offset = 0; ; ) {
    const page: UserJSON[] = await directory.listPage(offset, pageSize);
    for (const user of page) {
      const snapshot = toUserSnapshot(clerkUserSchema.parse(user));
      await db.users.findOneAndUpdate({ _id: user.id }, { $set: snapshot }, { upsert: true });
      tallies.applied += 1;
    }
    offset += page.length;
    if (page.length < pageSize) break;
  }
}

await reportToParent(async (): Promise<ReconcileResult> => {
  const db = await openBenchDatabase(job.mongoUri, job.dbName);
  try {
    let clerkMs = 0;
    // Timed until the directory has its JSON, on the response as it came: no copy of the body
    // (one would add a megabyte of buffers a page that production does not allocate).
    const timedFetch: typeof fetch = async (input, init) => {
      const sent = performance.now();
      const response = await fetch(input, init);
      const parse = response.json.bind(response);
      const timedParse = async () => {
        try {
          return await parse();
        } finally {
          clerkMs += performance.now() - sent;
        }
      };
      return Object.defineProperty(response, "json", { value: timedParse });
    };
    const directory = createClerkUserDirectory({
      apiUrl: job.clerkUrl,
      secretKey: job.secretKey,
      // Pacing is Clerk's rate limit, not our cost: out of the way here.
      maxRequestsPer10Seconds: 1_000_000_000,
      fetch: timedFetch,
    });
    const atStart = memoryBreakdown();
    const baselineRssMb = atStart.rssMb;
    db.commands.reset();
    const rss = sampleRss(50);
    const started = performance.now();
    const progress = (): ReconcileProgress => ({ ms: performance.now() - started, ...tallies, roundTrips: db.commands.total, peakRssMb: rss.peak() });
    const ticker = setInterval(() => reportProgress(progress()), 1_000);

    const counted = countingDirectory(directory);
    const counts = job.variant === "naive" ? (await runNaive(db, directory), undefined) : await (job.variant === "cli" ? runCli : runInngest)(db, counted);

    clearInterval(ticker);
    const done = progress();
    const peakRssMb = rss.stop();
    const atPeak = rss.atPeak();
    const heapUsedMb = process.memoryUsage().heapUsed / 1024 / 1024;
    const commands = db.commands.byName();
    const commandMs = db.commands.msByName();
    await verify(db.users, counts);
    return { ...done, peakRssMb, heapUsedMb, commands, commandMs, clerkMs, clerkRequests: directory.requests, baselineRssMb, atStart, atPeak, ...(counts && { counts }) };
  } finally {
    await db.close();
  }
});

async function verify(users: UserModel, counts: ReconcileCounts | undefined): Promise<void> {
  const problems: string[] = [];
  // One pass in batches, not `countDocuments`: FerretDB counts by reading every document in one
  // command, which at 100k users outlasts the socket timeout (and then keeps the server busy).
  let total = 0;
  let tombstoned = 0;
  for await (const doc of users.collection.find<{ deletedAt?: Date | null }>({}, { projection: { deletedAt: 1 }, batchSize: 5_000 })) {
    total += 1;
    if (doc.deletedAt) tombstoned += 1;
  }
  if (total !== job.expect.total) problems.push(`${total} documents, expected ${job.expect.total}`);
  if (tombstoned !== 0) problems.push(`${tombstoned} tombstoned users, expected none`);
  for (const [key, expected] of Object.entries(job.expect.counts ?? {})) {
    const actual = counts?.[key as keyof ReconcileCounts];
    if (actual !== expected) problems.push(`counts.${key} = ${actual}, expected ${expected}`);
  }
  if (counts && counts.failed !== 0) problems.push(`counts.failed = ${counts.failed}`);
  const ids = job.expect.sample.map((user) => user.id);
  const docs = await users.find({ _id: { $in: ids } }, { firstName: 1, clerkUpdatedAt: 1 }).lean();
  const stored = new Map(docs.map((doc) => [doc._id, doc]));
  let wrong = 0;
  for (const expected of job.expect.sample) {
    const doc = stored.get(expected.id);
    if (!doc || doc.firstName !== expected.firstName || doc.clerkUpdatedAt?.getTime() !== expected.updatedAt) {
      if (wrong < 3) problems.push(`${expected.id}: stored ${JSON.stringify(doc)}, expected firstName ${expected.firstName} at ${expected.updatedAt}`);
      wrong += 1;
    }
  }
  if (wrong > 0) problems.push(`${wrong} of ${job.expect.sample.length} sampled users not in Clerk's state`);
  if (problems.length > 0) throw new Error(`${job.variant} on ${job.dbName} is not in sync with Clerk:\n  ${problems.join("\n  ")}`);
}
