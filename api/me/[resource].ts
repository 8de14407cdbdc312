import { apiDependencies } from "../../lib/get-services.js";
import { serveRoutesBySegment } from "../../lib/http/route.js";
import { meActivityRoute } from "./_activity.js";
import { meExportRoute } from "./_export.js";
import { meOrganizationsRoute } from "./_organizations.js";

/** `/api/me/<resource>`: the signed-in user's own data, one function for all of it (files starting with `_` are not functions). */
export default serveRoutesBySegment({ activity: meActivityRoute, export: meExportRoute, organizations: meOrganizationsRoute }, apiDependencies, "resource");
