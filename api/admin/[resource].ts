import { apiDependencies } from "../../lib/get-services.js";
import { serveRoutesBySegment } from "../../lib/http/route.js";
import { syncMetricsRoute } from "./_metrics.js";
import { reconciliationRunsRoute } from "./_reconciliation-runs.js";
import { syncStatusRoute } from "./_status.js";

/** `/api/admin/<resource>` (admins): reconciliation runs, the sync's status, its metrics; one function. */
export default serveRoutesBySegment({ "reconciliation-runs": reconciliationRunsRoute, status: syncStatusRoute, metrics: syncMetricsRoute }, apiDependencies, "resource");
