import { type Connection, type InferRawDocType, type Model, Schema } from "mongoose";
import type { ReconcileCounts } from "./counts.js";
import type { OrganizationCounts } from "./reconcile-organizations.js";

/** One reconciliation run: what triggered it, how long it took, what it did. */
const runSchemaDefinition = {
  _id: { type: String, required: true },
  trigger: { type: String, required: true },
  dryRun: { type: Boolean, required: true },
  status: { type: String, required: true, enum: ["running", "succeeded", "failed"] },
  startedAt: { type: Date, required: true },
  finishedAt: { type: Date },
  durationMs: { type: Number },
  counts: {
    scanned: Number,
    created: Number,
    updated: Number,
    tombstoned: Number,
    unchanged: Number,
    failed: Number,
  },
  /** What the run did to organizations and memberships (lib/reconcile/reconcile-organizations.ts). */
  organizations: { type: Schema.Types.Mixed },
  /** Syncs that exhausted their retries (Inngest onFailure) since the previous run. */
  syncFailuresSincePreviousRun: { type: Number },
  error: { type: String },
} as const;

const runSchema = new Schema(runSchemaDefinition, { collection: "reconciliation_runs", versionKey: false, strict: "throw" });
export type ReconciliationRun = InferRawDocType<typeof runSchemaDefinition>;
type RunModel = Model<ReconciliationRun>;

export interface RunReports {
  start(runId: string, trigger: string, dryRun: boolean, at?: Date): Promise<void>;
  finish(runId: string, result: { counts: ReconcileCounts; organizations?: OrganizationCounts; syncFailuresSincePreviousRun?: number; error?: string }, at?: Date): Promise<void>;
  latest(limit: number): Promise<ReconciliationRun[]>;
}

export function createRunReports(connection: Connection): RunReports {
  const runs = (connection.models.ReconciliationRun as RunModel | undefined) ?? connection.model<ReconciliationRun>("ReconciliationRun", runSchema);
  return {
    async start(runId, trigger, dryRun, at = new Date()) {
      // Idempotent: a retried step must not fail on its own earlier insert.
      await runs.updateOne({ _id: runId }, { $setOnInsert: { trigger, dryRun, status: "running", startedAt: at } }, { upsert: true });
    },
    async finish(runId, { counts, organizations, syncFailuresSincePreviousRun, error }, at = new Date()) {
      const run = await runs.findById(runId, { startedAt: 1 }).lean();
      const status = error || counts.failed > 0 ? "failed" : "succeeded";
      await runs.updateOne(
        { _id: runId },
        {
          $set: {
            status,
            finishedAt: at,
            durationMs: run ? at.getTime() - run.startedAt.getTime() : 0,
            counts,
            ...(organizations && { organizations }),
            ...(syncFailuresSincePreviousRun !== undefined && { syncFailuresSincePreviousRun }),
            ...(error && { error }),
          },
        },
      );
    },
    latest(limit) {
      return runs.find().sort({ startedAt: -1 }).limit(limit).lean<ReconciliationRun[]>();
    },
  };
}
