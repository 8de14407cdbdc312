import { parseQuery } from "../../lib/http/parse-query.js";
import { requireMembership } from "../../lib/http/organization-guards.js";
import { json, type Route } from "../../lib/http/route.js";
import type { MembershipDocument } from "../../lib/organizations/membership-model.js";
import type { OrganizationDocument } from "../../lib/organizations/organization-model.js";
import { pageQuerySchema, toOrganizationView } from "../../lib/organizations/organization-views.js";

/** GET /api/me/organizations: the organizations the caller is a member of, by organization id, cursor-paginated. */
export const meOrganizationsRoute: Route = {
  name: "me-organizations",
  access: "user",
  methods: {
    GET: async (ctx) => {
      const { url, services, userId, token } = ctx;
      const { limit, cursor } = parseQuery(url, pageQuerySchema);
      // The active organization of the session counts even before its webhook arrives (just in time).
      if (token.organization && !cursor) await requireMembership(ctx, token.organization.id).catch(() => null);
      const filter = { userId, removedAt: null, ...(cursor && { _id: { $gt: `${cursor}:${userId}` } }) };
      const memberships = await services.memberships.find(filter).sort({ _id: 1 }).limit(limit + 1).lean<MembershipDocument[]>();
      const page = memberships.slice(0, limit);
      const organizations = await services.organizations.find({ _id: { $in: page.map((m) => m.organizationId) } }).lean<OrganizationDocument[]>();
      const byId = new Map(organizations.map((organization) => [organization._id, organization]));
      const data = page
        .filter((membership) => !byId.get(membership.organizationId)?.deletedAt)
        .map((membership) => ({
          organization: toOrganizationView(membership.organizationId, byId.get(membership.organizationId) ?? null),
          role: membership.role ?? "",
          permissions: membership.permissions ?? [],
        }));
      return json(200, { data, nextCursor: memberships.length > limit ? (page.at(-1)?.organizationId ?? null) : null });
    },
  },
};
