import { z } from "zod";
import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { readJsonBody } from "../../lib/http/read-json-body.js";
import { json, type Route } from "../../lib/http/route.js";

const listQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }).strict();
/**
 * `dryRun`: decide and report the drift, write nothing (organizations included). `force`: rewrite
 * every user from Clerk whatever the stored version (after a mapping fix), audited and resumable
 * like any run; tombstones stay final.
 */
const startBodySchema = z.object({ dryRun: z.boolean().default(false), force: z.boolean().default(false) }).strict();

/**
 * /api/admin/reconciliation-runs (admins): GET lists the latest runs, their progress and counts;
 * POST asks for a run now (202; its report appears in the list once Inngest runs it, unless a
 * run is already in progress: the reconciliation is an Inngest singleton, and the request is skipped).
 */
export const reconciliationRunsRoute: Route = {
  name: "reconciliation-runs",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      const { limit } = parseQuery(url, listQuerySchema);
      return json(200, { data: await services.reports.latest(limit) });
    },

    POST: async ({ req, url, services, userId }) => {
      parseQuery(url, noQuerySchema);
      const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
      const { dryRun, force } = hasBody
        ? await readJsonBody(req, startBodySchema, services.config.api.maxBodyBytes, { timeoutMs: services.config.api.bodyReadTimeoutMs })
        : { dryRun: false, force: false };
      // The event catalogue (and the Inngest SDK it declares events with) loads with the first request that sends one.
      const { usersReconcileRequested } = await import("../../inngest/events.js");
      await services.sendEvent({ name: usersReconcileRequested.name, data: { dryRun, force, requestedBy: userId } });
      return json(202, { status: "requested", dryRun, force });
    },
  },
};

