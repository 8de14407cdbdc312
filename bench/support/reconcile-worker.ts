/**
 * One measured reconciliation run, in a process of its own (started by bench/reconciliation.ts),
 * so that its peak RSS is its own. Runs either OURS (`runReconciliation` with the real store)
 * or NAIVE (page through the list, one `findOneAndUpdate(upsert)` per user), then verifies the
 * database against what the parent expects, outside the timing. Reports its progress every
 * second, so a run stopped at its time limit still says how far it got.
 */
import { createClerkUserDirectory } from "../../lib/clerk/clerk-user-directory.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { createLogger } from "../../lib/logger.js";
import type { ReconcileCounts } from "../../lib/reconcile/counts.js";
import { runReconciliation, startOrResumeRun } from "../../lib/reconcile/run-reconciliation.js";
import { createRunReports } from "../../lib/reconcile/run-reports.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import type { UserModel } from "../../lib/users/user-model.js";
import { createUserStore, type UserStore } from "../../lib/users/user-store.js";
import { keepStdoutForFigures, openBenchDatabase, reportProgress, reportToParent, sampleRss, workerJob } from "./reconcile-harness.js";

export interface ReconcileJob {
  variant: "ours" | "naive";
  mongoUri: string;
  dbName: string;
  clerkUrl: string;
  secretKey: string;
  expect: {
    /** Users in Clerk (and, afterwards, documents in the database). */
    total: number;
    /** OURS only: the counts `runReconciliation` must report (those given). */
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
  /** Time spent waiting on Clerk (ms) and requests sent. */
  clerkMs: number;
  clerkRequests: number;
  baselineRssMb: number;
  counts?: ReconcileCounts;
}

keepStdoutForFigures();
const job = workerJob<ReconcileJob>();

await reportToParent(async (): Promise<ReconcileResult> => {
  const db = await openBenchDatabase(job.mongoUri, job.dbName);
  try {
    let clerkMs = 0;
    const timedFetch: typeof fetch = async (input, init) => {
      const sent = performance.now();
      const response = await fetch(input, init);
      const body = await response.arrayBuffer();
      clerkMs += performance.now() - sent;
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    const directory = createClerkUserDirectory({
      apiUrl: job.clerkUrl,
      secretKey: job.secretKey,
      // Pacing is Clerk's rate limit, not our cost: out of the way here.
      maxRequestsPer10Seconds: 1_000_000_000,
      fetch: timedFetch,
    });
    const logger = createLogger("warn");
    let applied = 0;
    let swept = 0;
    const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
    db.commands.reset();
    const rss = sampleRss(50);
    const started = performance.now();
    const progress = (): ReconcileProgress => ({ ms: performance.now() - started, applied, swept, roundTrips: db.commands.total, peakRssMb: rss.peak() });
    const ticker = setInterval(() => reportProgress(progress()), 1_000);
    let counts: ReconcileCounts | undefined;

    if (job.variant === "ours") {
      const real = createUserStore(db.users);
      const store: UserStore = {
        apply: real.apply,
        applyEvents: real.applyEvents,
        async applyBatch(events, options) {
          const outcomes = await real.applyBatch(events, options);
          applied += events.length;
          return outcomes;
        },
      };
      const counted = {
        ...directory,
        get requests() {
          return directory.requests;
        },
        findExisting: async (ids: readonly string[]) => {
          const found = await directory.findExisting(ids);
          swept += ids.length;
          return found;
        },
      };
      const reconcileDeps = { directory: counted, store, users: db.users, reports: createRunReports(db.connection), logger };
      const run = await startOrResumeRun(reconcileDeps, "bench", {});
      counts = await runReconciliation(reconcileDeps, run);
      await reconcileDeps.reports.finish(run.id, { counts });
    } else {
      // The tutorial way: page through the list, one upsert per user, one at a time.
      const pageSize = 500;
      for (let offset = 0; ; ) {
        const page = await directory.listPage(offset, pageSize);
        for (const user of page) {
          const snapshot = toUserSnapshot(clerkUserSchema.parse(user));
          await db.users.findOneAndUpdate({ _id: user.id }, { $set: snapshot }, { upsert: true });
          applied += 1;
        }
        offset += page.length;
        if (page.length < pageSize) break;
      }
    }

    clearInterval(ticker);
    const done = progress();
    const peakRssMb = rss.stop();
    const commands = db.commands.byName();
    const commandMs = db.commands.msByName();
    await verify(db.users, counts);
    return { ...done, peakRssMb, commands, commandMs, clerkMs, clerkRequests: directory.requests, baselineRssMb, ...(counts && { counts }) };
  } finally {
    await db.close();
  }
});

async function verify(users: UserModel, counts: ReconcileCounts | undefined): Promise<void> {
  const problems: string[] = [];
  const total = await users.countDocuments({});
  if (total !== job.expect.total) problems.push(`${total} documents, expected ${job.expect.total}`);
  const tombstoned = await users.countDocuments({ deletedAt: { $ne: null } });
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
