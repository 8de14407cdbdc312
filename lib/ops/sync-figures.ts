import type { Connection } from "mongoose";
import { type AuditLog, createAuditLog } from "../audit/audit-log.js";
import { createRunReports, type RunReports } from "../reconcile/run-reports.js";
import { assessSyncHealth, type SyncFigures, type SyncHealth, type SyncHealthThresholds, type SyncStatus } from "./assess-sync-health.js";
import { createHeartbeats, type Heartbeats } from "./heartbeats.js";
import { cachedInngestProbe, type InngestReachability, probeInngest } from "./inngest-reachability.js";

/** How many outboxes are read to find the oldest waiting event: a backlog larger than that is stalled anyway. */
const outboxSample = 1_000;

/** Every collection whose documents carry a transactional outbox of app events. */
const outboxCollections = ["users", "organizations", "memberships"] as const;

/** Documents with app events waiting (up to `outboxSample` of each collection), and their events' times. */
async function pendingOutboxes(connection: Connection): Promise<{ outbox: { data?: { occurredAt?: string } }[] }[]> {
  const found = await Promise.all(
    outboxCollections.map((name) =>
      connection
        .collection(name)
        .find({ "outbox.id": { $exists: true } }, { projection: { outbox: 1 }, limit: outboxSample, batchSize: outboxSample + 1 })
        .toArray(),
    ),
  );
  return found.flat() as unknown as { outbox: { data?: { occurredAt?: string } }[] }[];
}

/** The figures the sync's health is judged on, read from MongoDB (see assess-sync-health.ts). */
async function collectSyncFigures(
  deps: { heartbeats: Heartbeats; audit: AuditLog; reports: RunReports; connection: Connection; probeInngest: (() => Promise<InngestReachability>) | undefined },
  now: Date,
): Promise<SyncFigures> {
  const [inngest, lastVerifiedWebhookAt, lastAppliedEventAt, runs, failedSyncsLast24h, outboxes] = await Promise.all([
    deps.probeInngest ? inngestFigures(deps.heartbeats, deps.probeInngest) : null,
    deps.heartbeats.read("webhook-verified"),
    deps.audit.lastHandledAt("webhook"),
    deps.reports.latest(10),
    deps.audit.countFailuresSince(new Date(now.getTime() - 86_400_000)),
    pendingOutboxes(deps.connection),
  ]);
  const finished = runs.find((run) => run.finishedAt && !run.dryRun);
  const occurred = outboxes.flatMap((doc) => doc.outbox.map((event) => Date.parse(event.data?.occurredAt ?? ""))).filter(Number.isFinite);
  return {
    lastVerifiedWebhookAt,
    lastAppliedEventAt,
    lastReconciliation: finished?.finishedAt
      ? {
          finishedAt: finished.finishedAt,
          status: finished.status,
          // A forced run rewrites every user on purpose: its updates are not divergences it found.
          repaired: (finished.counts?.created ?? 0) + (finished.force ? 0 : (finished.counts?.updated ?? 0)) + (finished.counts?.tombstoned ?? 0),
        }
      : null,
    outbox: { users: outboxes.length, oldestEventAt: occurred.length > 0 ? new Date(Math.min(...occurred)) : null },
    failedSyncsLast24h,
    inngest,
  };
}

/**
 * The probe's answer, and when Inngest was last reached (shared by every instance through the
 * `inngest-reachable` heartbeat, so "unreachable for how long" survives cold starts). A
 * reachable answer is recorded once: a cached probe repeated by /api/health writes nothing.
 */
async function inngestFigures(heartbeats: Heartbeats, probe: () => Promise<InngestReachability>): Promise<NonNullable<SyncFigures["inngest"]>> {
  const [reachability, recorded] = await Promise.all([probe(), heartbeats.read("inngest-reachable")]);
  if (reachability.kind === "unreachable" || (recorded && recorded >= reachability.checkedAt)) return { reachability, lastReachableAt: recorded };
  await heartbeats.beat("inngest-reachable", reachability.checkedAt);
  return { reachability, lastReachableAt: reachability.checkedAt };
}

/**
 * The figures and the verdict, read on a connection: for the sync core, and for /api/health
 * without the rest of it. Inngest is probed when `thresholds.inngest` says where: live by
 * default (admin status, metrics, the CLI), or through the `probe` given (/api/health's cache).
 */
export async function readSyncHealth(
  connection: Connection,
  thresholds: SyncHealthThresholds,
  now = new Date(),
  probe: (() => Promise<InngestReachability>) | undefined = liveProbe(thresholds),
): Promise<SyncHealth & { figures: SyncFigures }> {
  const figures = await collectSyncFigures(
    {
      heartbeats: createHeartbeats(connection),
      audit: createAuditLog(connection),
      reports: createRunReports(connection),
      connection,
      probeInngest: thresholds.inngest ? probe : undefined,
    },
    now,
  );
  return { ...assessSyncHealth(figures, thresholds, now), figures };
}

/** A fresh probe of the configured Event API, bounded by its timeout; undefined when Inngest is not configured. */
function liveProbe(thresholds: Pick<SyncHealthThresholds, "inngest">): (() => Promise<InngestReachability>) | undefined {
  const settings = thresholds.inngest;
  return settings && (() => probeInngest({ eventApiUrl: settings.eventApiUrl, timeoutMs: settings.probeTimeoutMs }));
}

/**
 * The verdict alone, for /api/health: the figures are read on every call (a few indexed reads),
 * Inngest is probed at most once per `probeCacheMs` in this process, so a monitor polling every
 * few seconds never becomes as many calls to Inngest.
 */
export function cachedSyncStatus(thresholds: SyncHealthThresholds, probeCacheMs: number): (connection: Connection) => Promise<SyncStatus> {
  const live = liveProbe(thresholds);
  const probe = live && cachedInngestProbe(live, probeCacheMs);
  return async (connection) => (await readSyncHealth(connection, thresholds, new Date(), probe)).status;
}
