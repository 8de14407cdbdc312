import { apiDependencies } from "../../../lib/get-services.js";
import { serveRoutesBySegment } from "../../../lib/http/route.js";
import { userHistoryRoute } from "./_history.js";
import { resyncRoute } from "./_resync.js";

/** `/api/users/:id/<action>` (admins): one user's audit trail and replay, in one function. */
export default serveRoutesBySegment({ history: userHistoryRoute, resync: resyncRoute }, apiDependencies, "action");
