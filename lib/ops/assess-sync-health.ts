import type { InngestReachability } from "./inngest-reachability.js";

/**
 * Is the sync keeping MongoDB converged with Clerk? A pure verdict over the figures
 * lib/ops/sync-figures.ts collects, so an operator (and an uptime monitor through
 * /api/health) learns that the sync has stalled: a webhook endpoint misconfigured in
 * Clerk's dashboard, Inngest failing every run, an outbox that no longer drains, a
 * reconciliation that stopped running.
 */

export interface SyncFigures {
  /** When our endpoint last verified a Clerk webhook (any instance), if ever. */
  lastVerifiedWebhookAt: Date | null;
  /** When a Clerk event was last applied by the webhook path (either delivery route), if ever. */
  lastAppliedEventAt: Date | null;
  /** The latest finished reconciliation (not a dry run). */
  lastReconciliation: { finishedAt: Date; status: string; repaired: number } | null;
  outbox: { users: number; oldestEventAt: Date | null };
  /** Syncs that failed for good (retries exhausted) in the last 24 hours. */
  failedSyncsLast24h: number;
  /** Inngest's Event API as probed now, and when a probe last reached it; absent or null when not probed. */
  inngest?: { reachability: InngestReachability; lastReachableAt: Date | null } | null;
}

export interface SyncHealthThresholds {
  /** No verified webhook for this long: degraded (a quiet app may see this), then stalled. */
  webhookDegradedAfterMs: number;
  webhookStalledAfterMs: number;
  /** An app event waiting in an outbox for this long: stalled (the publisher and its sweep are failing). */
  outboxStalledAfterMs: number;
  /** No finished reconciliation for this long: stalled (the schedule is not running). */
  reconciliationStalledAfterMs: number;
  /** This many failed syncs in 24 hours: degraded. */
  failedSyncsDegradedAt: number;
  /**
   * Where the status probes Inngest's Event API, and for how long it may stay unreachable before
   * the sync is stalled (degraded before); absent: Inngest is not probed (a CLI without Inngest).
   */
  inngest?: { eventApiUrl: string; probeTimeoutMs: number; stalledAfterMs: number } | undefined;
}

export type SyncStatus = "ok" | "degraded" | "stalled";

export interface SyncHealth {
  status: SyncStatus;
  /** Why, one line per finding (empty when ok). */
  reasons: string[];
}

const rank: Record<SyncStatus, number> = { ok: 0, degraded: 1, stalled: 2 };

export function assessSyncHealth(figures: SyncFigures, thresholds: SyncHealthThresholds, now: Date): SyncHealth {
  const findings: { status: SyncStatus; reason: string }[] = [];
  const age = (at: Date | null) => (at ? now.getTime() - at.getTime() : Number.POSITIVE_INFINITY);
  const minutes = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms / 60_000)} min` : "never");

  // "Never" is a fresh deployment as often as a broken one: degraded until there is evidence of a stop.
  const webhookAge = age(figures.lastVerifiedWebhookAt);
  if (!figures.lastVerifiedWebhookAt) findings.push({ status: "degraded", reason: "no verified Clerk webhook yet" });
  else if (webhookAge >= thresholds.webhookStalledAfterMs) findings.push({ status: "stalled", reason: `no verified Clerk webhook for ${minutes(webhookAge)}` });
  else if (webhookAge >= thresholds.webhookDegradedAfterMs) findings.push({ status: "degraded", reason: `no verified Clerk webhook for ${minutes(webhookAge)}` });

  // Webhooks arrive but nothing is applied: Inngest is not running the functions.
  if (figures.lastVerifiedWebhookAt && webhookAge < thresholds.webhookDegradedAfterMs) {
    const lag = figures.lastVerifiedWebhookAt.getTime() - (figures.lastAppliedEventAt?.getTime() ?? 0);
    if (lag >= thresholds.webhookDegradedAfterMs) findings.push({ status: "stalled", reason: `webhooks arrive but none applied for ${minutes(lag)}` });
  }

  const outboxAge = age(figures.outbox.oldestEventAt);
  if (figures.outbox.users > 0 && outboxAge >= thresholds.outboxStalledAfterMs) {
    findings.push({ status: "stalled", reason: `app events waiting in ${figures.outbox.users} outbox(es) for ${minutes(outboxAge)}` });
  }

  const reconciliationAge = age(figures.lastReconciliation?.finishedAt ?? null);
  if (!figures.lastReconciliation) findings.push({ status: "degraded", reason: "no reconciliation has finished yet" });
  else if (reconciliationAge >= thresholds.reconciliationStalledAfterMs) findings.push({ status: "stalled", reason: `no reconciliation finished for ${minutes(reconciliationAge)}` });
  else if (figures.lastReconciliation?.status === "failed") findings.push({ status: "degraded", reason: "the last reconciliation failed" });
  else if (figures.lastReconciliation && figures.lastReconciliation.repaired > 0) {
    findings.push({ status: "degraded", reason: `the last reconciliation repaired ${figures.lastReconciliation.repaired} divergence(s) the webhooks missed` });
  }

  // Inngest unreachable: webhooks are answered 503 (Svix retries for ~27 h) and no function runs.
  // One failed probe is degraded; stalled once no probe has reached it for the threshold.
  if (figures.inngest && thresholds.inngest && figures.inngest.reachability.kind === "unreachable") {
    const { reachability, lastReachableAt } = figures.inngest;
    const unreachableFor = age(lastReachableAt);
    const since = lastReachableAt ? `last reached ${minutes(unreachableFor)} ago` : "never reached";
    const status: SyncStatus = unreachableFor >= thresholds.inngest.stalledAfterMs ? "stalled" : "degraded";
    findings.push({ status, reason: `Inngest's Event API unreachable (${reachability.reason}; ${since})` });
  }

  if (figures.failedSyncsLast24h >= thresholds.failedSyncsDegradedAt) findings.push({ status: "degraded", reason: `${figures.failedSyncsLast24h} sync(s) failed for good in 24 h` });

  const status = findings.reduce<SyncStatus>((worst, finding) => (rank[finding.status] > rank[worst] ? finding.status : worst), "ok");
  return { status, reasons: findings.map((finding) => `${finding.status}: ${finding.reason}`) };
}
