import { parseQuery } from "../../lib/http/parse-query.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { apiDependencies } from "../../lib/get-services.js";
import { listUsers, listUsersQuerySchema } from "../../lib/users/list-users.js";
import { toUserView } from "../../lib/users/user-view.js";

/** GET /api/users (admins): search by email or name prefix, filter, cursor-paginate. */
export const usersRoute: Route = {
  name: "users",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      const query = parseQuery(url, listUsersQuerySchema);
      const page = await listUsers(services.users, query);
      return json(200, { data: page.users.map(toUserView), nextCursor: page.nextCursor });
    },
  },
};

export default serveRoute(usersRoute, apiDependencies);
