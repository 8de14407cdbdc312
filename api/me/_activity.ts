import { listActivity, listActivityQuerySchema, toActivityView } from "../../lib/activity/list-activity.js";
import { parseQuery } from "../../lib/http/parse-query.js";
import { json, type Route } from "../../lib/http/route.js";

/**
 * GET /api/me/activity: the caller's own sign-ins and sign-outs, newest first,
 * cursor-paginated. Whose records is decided by the session token alone.
 */
export const meActivityRoute: Route = {
  name: "me-activity",
  access: "user",
  methods: {
    GET: async ({ url, services, userId }) => {
      const query = parseQuery(url, listActivityQuerySchema);
      const page = await listActivity(services.activity, userId, query);
      return json(200, { data: page.records.map(toActivityView), nextCursor: page.nextCursor });
    },
  },
};

