import type { SyncFigures, SyncHealth } from "./assess-sync-health.js";

const statusValue = { ok: 0, degraded: 1, stalled: 2 } as const;

/** The sync's health in Prometheus' text exposition format (version 0.0.4). Ages are seconds; -1 means never. */
export function toPrometheusText(health: SyncHealth & { figures: SyncFigures }, now: Date): string {
  const age = (at: Date | null | undefined) => (at ? (now.getTime() - at.getTime()) / 1_000 : -1);
  const { figures } = health;
  const metrics: [name: string, help: string, value: number][] = [
    ["clerk_sync_status", "Sync health: 0 ok, 1 degraded, 2 stalled.", statusValue[health.status]],
    ["clerk_sync_last_verified_webhook_age_seconds", "Seconds since a Clerk webhook was last verified (-1: never).", age(figures.lastVerifiedWebhookAt)],
    ["clerk_sync_last_applied_event_age_seconds", "Seconds since a Clerk event was last applied by the webhook path (-1: never).", age(figures.lastAppliedEventAt)],
    ["clerk_sync_last_reconciliation_age_seconds", "Seconds since a reconciliation last finished (-1: never).", age(figures.lastReconciliation?.finishedAt)],
    ["clerk_sync_last_reconciliation_repaired", "Divergences the last reconciliation repaired.", figures.lastReconciliation?.repaired ?? 0],
    ["clerk_sync_outbox_users", "Users with app events waiting in their outbox.", figures.outbox.users],
    ["clerk_sync_outbox_oldest_age_seconds", "Seconds the oldest waiting app event has waited (-1: none).", age(figures.outbox.oldestEventAt)],
    ["clerk_sync_failed_syncs_24h", "Syncs that failed for good in the last 24 hours.", figures.failedSyncsLast24h],
    ...inngestMetrics(figures.inngest, age),
  ];
  return metrics.map(([name, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${Number.isInteger(value) ? value : value.toFixed(3)}\n`).join("");
}

/** Only when the status probed Inngest: a gauge that is always 0 would read as an outage. */
function inngestMetrics(inngest: SyncFigures["inngest"], age: (at: Date | null | undefined) => number): [name: string, help: string, value: number][] {
  if (!inngest) return [];
  return [
    ["clerk_sync_inngest_reachable", "1 when Inngest's Event API answered the status probe in time, else 0.", inngest.reachability.kind === "reachable" ? 1 : 0],
    ["clerk_sync_inngest_last_reachable_age_seconds", "Seconds since a status probe last reached Inngest's Event API (-1: never).", age(inngest.lastReachableAt)],
  ];
}
