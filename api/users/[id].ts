import { ProblemError } from "../../lib/http/problem.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { getServices } from "../../lib/get-services.js";
import type { UserDocument } from "../../lib/users/user-model.js";
import { toUserView } from "../../lib/users/user-view.js";

const userIdPattern = /^[A-Za-z0-9_]{1,128}$/;

/** GET /api/users/:id (admins): one user, deleted ones included and flagged. */
export const userByIdRoute: Route = {
  name: "user-by-id",
  access: "admin",
  methods: {
    GET: async ({ url, services }) => {
      const id = decodeURIComponent(url.pathname.split("/").filter(Boolean).at(-1) ?? "");
      if (!userIdPattern.test(id)) throw new ProblemError("invalidQuery", { extensions: { errors: ["id: not a Clerk user id"] } });
      const user = await services.users.findById(id).lean<UserDocument>();
      if (!user) throw new ProblemError("notFound", { detail: `No user ${id}.` });
      return json(200, toUserView(user));
    },
  },
};

export default serveRoute(userByIdRoute, getServices);
