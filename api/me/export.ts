import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { getServices } from "../../lib/services.js";

/** GET /api/me/export: every field we store about the caller, as a JSON download. */
export const meExportRoute: Route = {
  name: "me-export",
  access: "user",
  methods: {
    GET: async ({ user }) =>
      json(
        200,
        { exportedAt: new Date().toISOString(), user },
        { "content-disposition": `attachment; filename="account-export-${user._id}.json"` },
      ),
  },
};

export default serveRoute(meExportRoute, getServices);
