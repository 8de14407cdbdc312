import { noQuerySchema, parseQuery } from "../../../lib/http/parse-query.js";
import { userIdFromPath } from "../../../lib/http/path-param.js";
import { json, type Route } from "../../../lib/http/route.js";

/** POST /api/users/:id/resync (admins): re-apply one user from Clerk, for support cases. */
export const resyncRoute: Route = {
  name: "user-resync",
  access: "admin",
  methods: {
    POST: async ({ url, services, userId: requestedBy }) => {
      const { id, query } = userIdFromPath(url, 2);
      parseQuery(query, noQuerySchema);
      // The event catalogue (and the Inngest SDK it declares events with) loads with the first request that sends one.
      const { userResyncRequested } = await import("../../../inngest/events.js");
      await services.sendEvent({ name: userResyncRequested.name, data: { userId: id, requestedBy } });
      return json(202, { status: "requested", userId: id });
    },
  },
};

