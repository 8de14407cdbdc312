import { toActivityView } from "../../lib/activity/list-activity.js";
import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { json, type Route } from "../../lib/http/route.js";
import { toUserExport } from "../../lib/users/user-export.js";

/**
 * GET /api/me/export: the caller's personal data (profile and sign-in activity) as a JSON
 * download, in the documented, versioned shape of lib/users/user-export.ts.
 */
export const meExportRoute: Route = {
  name: "me-export",
  access: "user",
  methods: {
    GET: async ({ url, user, services }) => {
      parseQuery(url, noQuerySchema);
      const activity = await services.activity.find({ userId: user._id }).sort({ at: -1, _id: -1 }).lean();
      return json(
        200,
        toUserExport(user, activity.map(toActivityView)),
        { "content-disposition": `attachment; filename="account-export-${user._id}.json"` },
      );
    },
  },
};

