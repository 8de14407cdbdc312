import { apiDependencies } from "../../lib/get-services.js";
import { requireMembership } from "../../lib/http/organization-guards.js";
import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { organizationIdFromPath } from "../../lib/http/path-param.js";
import { json, type Route, serveRoute } from "../../lib/http/route.js";
import { toOrganizationView } from "../../lib/organizations/organization-views.js";

/** GET /api/organizations/:id: one organization, for its members only (404 to everyone else). */
export const organizationRoute: Route = {
  name: "organization",
  access: "user",
  methods: {
    GET: async (ctx) => {
      const { id, query } = organizationIdFromPath(ctx.url, 1);
      parseQuery(query, noQuerySchema);
      const access = await requireMembership(ctx, id);
      return json(200, { ...toOrganizationView(id, access.organization), role: access.membership.role, permissions: access.membership.permissions ?? [] });
    },
  },
};

export default serveRoute(organizationRoute, apiDependencies);
