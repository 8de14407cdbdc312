import type { Connection } from "mongoose";
import { type AuditLog, createAuditLog } from "../audit/audit-log.js";
import { createRunReports, type RunReports } from "../reconcile/run-reports.js";
import { type UserModel, userModelFor } from "../users/user-model.js";
import { assessSyncHealth, type SyncFigures, type SyncHealth, type SyncHealthThresholds } from "./assess-sync-health.js";
import { createHeartbeats, type Heartbeats } from "./heartbeats.js";

/** How many outboxes are read to find the oldest waiting event: a backlog larger than that is stalled anyway. */
const outboxSample = 1_000;

/** The figures the sync's health is judged on, read from MongoDB (see assess-sync-health.ts). */
async function collectSyncFigures(deps: { heartbeats: Heartbeats; audit: AuditLog; reports: RunReports; users: UserModel }, now: Date): Promise<SyncFigures> {
  const [lastVerifiedWebhookAt, lastAppliedEventAt, runs, failedSyncsLast24h, outboxes] = await Promise.all([
    deps.heartbeats.read("webhook-verified"),
    deps.audit.lastHandledAt("webhook"),
    deps.reports.latest(10),
    deps.audit.countFailuresSince(new Date(now.getTime() - 86_400_000)),
    deps.users.find({ "outbox.id": { $exists: true } }, { outbox: 1 }).limit(outboxSample).lean<{ outbox: { data?: { occurredAt?: string } }[] }[]>(),
  ]);
  const finished = runs.find((run) => run.finishedAt && !run.dryRun);
  const occurred = outboxes.flatMap((doc) => doc.outbox.map((event) => Date.parse(event.data?.occurredAt ?? ""))).filter(Number.isFinite);
  return {
    lastVerifiedWebhookAt,
    lastAppliedEventAt,
    lastReconciliation: finished?.finishedAt
      ? { finishedAt: finished.finishedAt, status: finished.status, repaired: (finished.counts?.created ?? 0) + (finished.counts?.updated ?? 0) + (finished.counts?.tombstoned ?? 0) }
      : null,
    outbox: { users: outboxes.length, oldestEventAt: occurred.length > 0 ? new Date(Math.min(...occurred)) : null },
    failedSyncsLast24h,
  };
}

/** The figures and the verdict, read on a connection: for the sync core, and for /api/health without the rest of it. */
export async function readSyncHealth(connection: Connection, thresholds: SyncHealthThresholds, now = new Date()): Promise<SyncHealth & { figures: SyncFigures }> {
  const figures = await collectSyncFigures(
    { heartbeats: createHeartbeats(connection), audit: createAuditLog(connection), reports: createRunReports(connection), users: userModelFor(connection) },
    now,
  );
  return { ...assessSyncHealth(figures, thresholds, now), figures };
}
