import { apiDependencies } from "../../../lib/get-services.js";
import { requireMembership } from "../../../lib/http/organization-guards.js";
import { parseQuery } from "../../../lib/http/parse-query.js";
import { organizationIdFromPath } from "../../../lib/http/path-param.js";
import { json, type Route, serveRoute } from "../../../lib/http/route.js";
import type { MembershipDocument } from "../../../lib/organizations/membership-model.js";
import { pageQuerySchema, toMemberView } from "../../../lib/organizations/organization-views.js";

/** GET /api/organizations/:id/members: the members, by user id, cursor-paginated; for members only (404 to everyone else). */
export const organizationMembersRoute: Route = {
  name: "organization-members",
  access: "user",
  methods: {
    GET: async (ctx) => {
      const { id, query } = organizationIdFromPath(ctx.url, 2);
      const { limit, cursor } = parseQuery(query, pageQuerySchema);
      await requireMembership(ctx, id);
      const { memberships, users } = ctx.services;
      const filter = { organizationId: id, removedAt: null, ...(cursor && { _id: { $gt: `${id}:${cursor}` } }) };
      const found = await memberships.find(filter).sort({ _id: 1 }).limit(limit + 1).lean<MembershipDocument[]>();
      const page = found.slice(0, limit);
      const people = await users.find({ _id: { $in: page.map((m) => m.userId) } }, { firstName: 1, lastName: 1, username: 1, imageUrl: 1 }).lean();
      const byId = new Map(people.map((person) => [person._id, person]));
      return json(200, { data: page.map((m) => toMemberView(m, byId.get(m.userId))), nextCursor: found.length > limit ? (page.at(-1)?.userId ?? null) : null });
    },
  },
};

export default serveRoute(organizationMembersRoute, apiDependencies);
