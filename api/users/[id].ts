import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { userIdFromPath } from "../../lib/http/path-param.js";
import { ProblemError } from "../../lib/http/problem.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { apiDependencies } from "../../lib/get-services.js";
import type { UserDocument } from "../../lib/users/user-model.js";
import { toUserView } from "../../lib/users/user-view.js";

/** GET /api/users/:id (admins): one user, deleted ones included and flagged. */
export const userByIdRoute: Route = {
  name: "user-by-id",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      const { id, query } = userIdFromPath(url, 1);
      parseQuery(query, noQuerySchema);
      const user = await services.users.findById(id).lean<UserDocument>();
      if (!user) throw new ProblemError("notFound", { detail: `No user ${id}.` });
      return json(200, toUserView(user));
    },
  },
};

export default serveRoute(userByIdRoute, apiDependencies);
