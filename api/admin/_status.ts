import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { json, type Route } from "../../lib/http/route.js";

/**
 * GET /api/admin/status (admins): is the sync keeping up? `ok`, `degraded` or `stalled`, the
 * reasons, and the figures: the age of the last verified webhook and of the last applied
 * event, the last reconciliation and what it repaired, the outbox backlog, failed syncs, and
 * whether Inngest's Event API answers (a probe bounded by STATUS_INNGEST_PROBE_TIMEOUT_MS).
 */
export const syncStatusRoute: Route = {
  name: "sync-status",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      parseQuery(url, noQuerySchema);
      const now = new Date();
      const { status, reasons, figures } = await services.syncHealth(services.config.status, now);
      const ageSeconds = (at: Date | null | undefined) => (at ? Math.round((now.getTime() - at.getTime()) / 1_000) : null);
      return json(200, {
        status,
        reasons,
        webhooks: { lastVerifiedAt: figures.lastVerifiedWebhookAt, ageSeconds: ageSeconds(figures.lastVerifiedWebhookAt) },
        events: { lastAppliedAt: figures.lastAppliedEventAt, ageSeconds: ageSeconds(figures.lastAppliedEventAt) },
        reconciliation: figures.lastReconciliation && { ...figures.lastReconciliation, ageSeconds: ageSeconds(figures.lastReconciliation.finishedAt) },
        outbox: { users: figures.outbox.users, oldestAgeSeconds: ageSeconds(figures.outbox.oldestEventAt) },
        failedSyncsLast24h: figures.failedSyncsLast24h,
        // null when Inngest is not probed (no Inngest configured).
        inngest: figures.inngest
          ? { ...figures.inngest.reachability, lastReachableAt: figures.inngest.lastReachableAt, lastReachableAgeSeconds: ageSeconds(figures.inngest.lastReachableAt) }
          : null,
      });
    },
  },
};
