import { z } from "zod";
import { usersReconcileRequested } from "../../inngest/events.js";
import { readJsonBody } from "../../lib/http/read-json-body.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { getServices } from "../../lib/get-services.js";

const bodySchema = z.object({ dryRun: z.boolean().default(false) }).strict();

/** POST /api/admin/reconcile (admins): start a reconciliation now; the report appears under reconciliation-runs. */
export const reconcileRoute: Route = {
  name: "reconcile",
  access: "admin",
  methods: {
    POST: async ({ req, services, userId }) => {
      const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
      const { dryRun } = hasBody ? await readJsonBody(req, bodySchema, services.config.api.maxBodyBytes) : { dryRun: false };
      await services.sendEvent({ name: usersReconcileRequested.name, data: { dryRun, requestedBy: userId } });
      return json(202, { status: "requested", dryRun });
    },
  },
};

export default serveRoute(reconcileRoute, getServices);
