import { activityModelFor } from "../../lib/activity/activity-model.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { getServices } from "../../lib/get-services.js";

/** GET /api/me/export: every field we store about the caller, and their sign-in activity, as a JSON download. */
export const meExportRoute: Route = {
  name: "me-export",
  access: "user",
  methods: {
    GET: async ({ user, services }) => {
      const activity = await activityModelFor(services.connection).find({ userId: user._id }).sort({ at: -1 }).lean();
      return json(
        200,
        { exportedAt: new Date().toISOString(), user, activity },
        { "content-disposition": `attachment; filename="account-export-${user._id}.json"` },
      );
    },
  },
};

export default serveRoute(meExportRoute, getServices);
