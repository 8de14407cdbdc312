import { userResyncRequested } from "../../../inngest/events.js";
import { ProblemError } from "../../../lib/http/problem.js";
import { json, type Route, serveRoute } from "../../../lib/http/route.js";
import { getServices } from "../../../lib/get-services.js";

/** POST /api/users/:id/resync (admins): re-apply one user from Clerk, for support cases. */
export const resyncRoute: Route = {
  name: "user-resync",
  access: "admin",
  methods: {
    POST: async ({ url, services, userId: requestedBy }) => {
      const id = decodeURIComponent(url.pathname.split("/").filter(Boolean).at(-2) ?? "");
      if (!/^[A-Za-z0-9_]{1,128}$/.test(id)) throw new ProblemError("invalidQuery", { extensions: { errors: ["id: not a Clerk user id"] } });
      await services.sendEvent({ name: userResyncRequested.name, data: { userId: id, requestedBy } });
      return json(202, { status: "requested", userId: id });
    },
  },
};

export default serveRoute(resyncRoute, getServices);
