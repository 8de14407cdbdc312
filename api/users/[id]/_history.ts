import { userHistoryQuerySchema } from "../../../lib/audit/history-query.js";
import { parseQuery } from "../../../lib/http/parse-query.js";
import { userIdFromPath } from "../../../lib/http/path-param.js";
import { json, type Route } from "../../../lib/http/route.js";

/** GET /api/users/:id/history (admins): the sync audit trail of one user, newest first. */
export const userHistoryRoute: Route = {
  name: "user-history",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      const { id, query } = userIdFromPath(url, 2);
      const { limit, cursor } = parseQuery(query, userHistoryQuerySchema);
      const records = await services.audit.history(id, { limit: limit + 1, beforeId: cursor });
      const page = records.slice(0, limit);
      const data = page.map(({ _id, ...record }) => ({ id: String(_id), ...record }));
      return json(200, { data, nextCursor: records.length > limit ? String(page.at(-1)?._id) : null });
    },
  },
};

