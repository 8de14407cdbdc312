import { z } from "zod";
import { parseQuery } from "../../lib/http/parse-query.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { getServices } from "../../lib/get-services.js";

const querySchema = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }).strict();

/** GET /api/admin/reconciliation-runs (admins): the latest reconciliation runs and their counts. */
export const reconciliationRunsRoute: Route = {
  name: "reconciliation-runs",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      const { limit } = parseQuery(url, querySchema);
      return json(200, { data: await services.reports.latest(limit) });
    },
  },
};

export default serveRoute(reconciliationRunsRoute, getServices);
