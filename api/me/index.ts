import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { readJsonBody } from "../../lib/http/read-json-body.js";
import { ProblemError } from "../../lib/http/problem.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { apiDependencies } from "../../lib/get-services.js";
import { updateProfile } from "../../lib/users/update-profile.js";
import { profilePatchSchema } from "../../lib/users/profile-schemas.js";
import { toUserView } from "../../lib/users/user-view.js";

/** The signed-in user's own account: read, edit app-owned fields, delete. */
export const meRoute: Route = {
  name: "me",
  access: "user",
  methods: {
    GET: async ({ url, user }) => {
      parseQuery(url, noQuerySchema);
      return json(200, toUserView(user));
    },

    PATCH: async ({ req, url, userId, services }) => {
      parseQuery(url, noQuerySchema);
      const patch = await readJsonBody(req, profilePatchSchema, services.config.api.maxBodyBytes, { timeoutMs: services.config.api.bodyReadTimeoutMs });
      const updated = await updateProfile(services.users, userId, patch);
      if (!updated) throw new ProblemError("userDeleted");
      return json(200, toUserView(updated));
    },

    /**
     * Deletes the account in Clerk, then tombstones it here at once through the same
     * rule as the `user.deleted` webhook (which will then be a duplicate). If our write
     * fails, the webhook finishes the job: the response says which happened.
     */
    DELETE: async ({ url, userId, services, log, requestId }) => {
      parseQuery(url, noQuerySchema);
      const clerk = await services.clerkUsers.deleteUser(userId);
      try {
        await services.store.apply({ kind: "delete", userId, deletedAt: new Date(), origin: { source: "fallback", sourceEventId: requestId } });
        services.publishLater(userId);
        return json(200, { deleted: true, clerk, localData: "tombstoned" });
      } catch (error) {
        log.warn({ err: error }, "account deleted in Clerk; local tombstone left to the user.deleted webhook");
        return json(202, { deleted: true, clerk, localData: "pending-webhook" });
      }
    },
  },
};

export default serveRoute(meRoute, apiDependencies);
