import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { json, type Route } from "../../lib/http/route.js";
import { toPrometheusText } from "../../lib/ops/prometheus.js";

/** GET /api/admin/metrics (admins; a scraper sends an admin's token): the status figures in Prometheus' text format. */
export const syncMetricsRoute: Route = {
  name: "sync-metrics",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      parseQuery(url, noQuerySchema);
      const now = new Date();
      const health = await services.syncHealth(services.config.status, now);
      return json(200, toPrometheusText(health, now), { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    },
  },
};
