import { type Connection, type InferRawDocType, type Model, Schema } from "mongoose";
import { emptyCounts, type ReconcileCounts } from "./counts.js";
import type { OrganizationCounts } from "./reconcile-organizations.js";
import { emptyDigest, type SeenDigest } from "./seen-digest.js";

/**
 * One reconciliation run: what triggered it, how far it got (its checkpoint), how long it took,
 * what it did. The checkpoint (`progress`, the running `counts` and the `seen` digest) is written
 * after every batch of pages, guarded by the run's owner and the position it expects, so a run
 * resumed after a crash (`npm run sync`) or a retried Inngest step carries on from the last batch
 * written and counts nothing twice.
 */
const runSchemaDefinition = {
  _id: { type: String, required: true },
  trigger: { type: String, required: true },
  dryRun: { type: Boolean, required: true },
  /** Re-derive: every user rewritten from Clerk whatever the stored version (lib/sync/decide.ts). */
  force: { type: Boolean, default: false },
  /** The admin who asked for it (the admin API), when one did. */
  requestedBy: { type: String },
  status: { type: String, required: true, enum: ["running", "succeeded", "failed"] },
  startedAt: { type: Date, required: true },
  finishedAt: { type: Date },
  durationMs: { type: Number },
  /** The process (or Inngest run) that writes the checkpoint; resuming takes it over. */
  owner: { type: String },
  progress: {
    phase: { type: String, enum: ["scan", "sweep", "organizations", "done"] },
    /** Scan: offset of the next page of Clerk's user list. */
    offset: Number,
    /** Sweep: the next bucket of the seen digest to compare. */
    bucket: Number,
    /** Clerk's user count when the run started (for progress). */
    total: Number,
    at: Date,
  },
  counts: {
    scanned: Number,
    created: Number,
    updated: Number,
    tombstoned: Number,
    unchanged: Number,
    failed: Number,
  },
  /** What the scan saw (lib/reconcile/seen-digest.ts); dropped when the run finishes. */
  seen: { type: Schema.Types.Mixed },
  /** What the run did to organizations and memberships (lib/reconcile/reconcile-organizations.ts). */
  organizations: { type: Schema.Types.Mixed },
  /** Syncs that exhausted their retries (Inngest onFailure) since the previous run. */
  syncFailuresSincePreviousRun: { type: Number },
  error: { type: String },
} as const;

const runSchema = new Schema(runSchemaDefinition, { collection: "reconciliation_runs", versionKey: false, strict: "throw" });
export type ReconciliationRun = InferRawDocType<typeof runSchemaDefinition>;
type RunModel = Model<ReconciliationRun>;

export type RunPhase = "scan" | "sweep" | "organizations" | "done";

/** Where a run stands: what the next chunk starts from. */
export interface RunCheckpoint {
  phase: RunPhase;
  offset: number;
  bucket: number;
  counts: ReconcileCounts;
  seen: SeenDigest;
}

export interface RunState extends RunCheckpoint {
  id: string;
  owner: string | null;
  status: "running" | "succeeded" | "failed";
  dryRun: boolean;
  force: boolean;
  total: number | null;
  startedAt: Date;
}

export interface RunStartOptions {
  force?: boolean;
  requestedBy?: string;
  /** Who writes the checkpoint (default: the run id itself, as the Inngest function does). */
  owner?: string;
  /** Clerk's user count at the start (progress). */
  total?: number;
}

/** The checkpoint moved under us: another process resumed (took over) this run. */
class RunTakenOverError extends Error {
  override readonly name = "RunTakenOverError";
  constructor(readonly runId: string) {
    super(`reconciliation run ${runId} was resumed elsewhere: this process stops`);
  }
}

export interface RunReports {
  start(runId: string, trigger: string, dryRun: boolean, at?: Date, options?: RunStartOptions): Promise<void>;
  /** The run's checkpoint, or `null` for an unknown run. */
  state(runId: string): Promise<RunState | null>;
  /** Writes the checkpoint reached from `from`; throws RunTakenOverError when another owner holds the run or it moved on. */
  checkpoint(runId: string, owner: string, from: Pick<RunCheckpoint, "phase" | "offset" | "bucket">, next: RunCheckpoint, at?: Date): Promise<void>;
  /** The newest unfinished run of this trigger (a crashed CLI run), if any. */
  unfinished(trigger: string): Promise<RunState | null>;
  /** Makes `owner` the run's only checkpoint writer. */
  claim(runId: string, owner: string): Promise<void>;
  /** Closes the run; `startedAt` (from its state, when the caller holds it) spares reading it again. */
  finish(
    runId: string,
    result: { counts: ReconcileCounts; organizations?: OrganizationCounts; syncFailuresSincePreviousRun?: number; error?: string; startedAt?: Date },
    at?: Date,
  ): Promise<void>;
  latest(limit: number): Promise<ReconciliationRun[]>;
}

const initialProgress = { phase: "scan", offset: 0, bucket: 0 } as const;

export function createRunReports(connection: Connection): RunReports {
  const runs = (connection.models.ReconciliationRun as RunModel | undefined) ?? connection.model<ReconciliationRun>("ReconciliationRun", runSchema);

  function toState(run: ReconciliationRun & { _id: string }): RunState {
    const progress = run.progress ?? {};
    return {
      id: run._id,
      owner: run.owner ?? null,
      status: run.status as RunState["status"],
      dryRun: run.dryRun,
      force: run.force ?? false,
      total: progress.total ?? null,
      startedAt: run.startedAt,
      phase: (progress.phase as RunPhase | undefined) ?? "scan",
      offset: progress.offset ?? 0,
      bucket: progress.bucket ?? 0,
      counts: { ...emptyCounts(), ...(run.counts as Partial<ReconcileCounts> | undefined) },
      seen: (run.seen as SeenDigest | undefined) ?? emptyDigest(),
    };
  }

  return {
    async start(runId, trigger, dryRun, at = new Date(), options = {}) {
      // Idempotent: a retried step must not fail on its own earlier insert.
      await runs.updateOne(
        { _id: runId },
        {
          $setOnInsert: {
            trigger,
            dryRun,
            force: options.force ?? false,
            ...(options.requestedBy && { requestedBy: options.requestedBy }),
            status: "running",
            startedAt: at,
            owner: options.owner ?? runId,
            progress: { ...initialProgress, ...(options.total !== undefined && { total: options.total }), at },
            counts: emptyCounts(),
          },
        },
        { upsert: true },
      );
    },
    async state(runId) {
      const run = await runs.findById(runId).lean<ReconciliationRun & { _id: string }>();
      return run ? toState(run) : null;
    },
    async checkpoint(runId, owner, from, next, at = new Date()) {
      const result = await runs.updateOne(
        { _id: runId, owner, status: "running", "progress.phase": from.phase, "progress.offset": from.offset, "progress.bucket": from.bucket },
        {
          $set: {
            "progress.phase": next.phase,
            "progress.offset": next.offset,
            "progress.bucket": next.bucket,
            "progress.at": at,
            counts: next.counts,
            seen: next.seen,
          },
        },
      );
      if (result.matchedCount !== 1) throw new RunTakenOverError(runId);
    },
    async unfinished(trigger) {
      // Few runs a trigger are ever unfinished; the newest one is the one to resume.
      const [run] = await runs.find({ trigger, status: "running" }).sort({ startedAt: -1 }).limit(1).lean<(ReconciliationRun & { _id: string })[]>();
      return run ? toState(run) : null;
    },
    async claim(runId, owner) {
      await runs.updateOne({ _id: runId, status: "running" }, { $set: { owner } });
    },
    async finish(runId, { counts, organizations, syncFailuresSincePreviousRun, error, startedAt }, at = new Date()) {
      const run = startedAt ? { startedAt } : await runs.findById(runId, { startedAt: 1 }).lean();
      const status = error || counts.failed > 0 ? "failed" : "succeeded";
      await runs.updateOne(
        { _id: runId },
        {
          $set: {
            status,
            finishedAt: at,
            durationMs: run ? at.getTime() - run.startedAt.getTime() : 0,
            counts,
            "progress.phase": "done",
            "progress.at": at,
            ...(organizations && { organizations }),
            ...(syncFailuresSincePreviousRun !== undefined && { syncFailuresSincePreviousRun }),
            ...(error && { error }),
          },
          $unset: { seen: 1 },
        },
      );
    },
    latest(limit) {
      return runs.find({}, { seen: 0 }).sort({ startedAt: -1 }).limit(limit).lean<ReconciliationRun[]>();
    },
  };
}
