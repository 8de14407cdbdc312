import { toActivityView } from "../../lib/activity/list-activity.js";
import { noQuerySchema, parseQuery } from "../../lib/http/parse-query.js";
import { json, type Route } from "../../lib/http/route.js";
import { type ExportedMembership, type ExportedOrganization, toUserExport } from "../../lib/users/user-export.js";

/**
 * GET /api/me/export: the caller's personal data (profile, sign-in activity and organization
 * memberships, live and ended) as a JSON download, in the documented, versioned shape of
 * lib/users/user-export.ts.
 */
export const meExportRoute: Route = {
  name: "me-export",
  access: "user",
  methods: {
    GET: async ({ url, user, services }) => {
      parseQuery(url, noQuerySchema);
      const [activity, memberships] = await Promise.all([
        services.activity.find({ userId: user._id }).sort({ at: -1, _id: -1 }).lean(),
        services.memberships.find({ userId: user._id }, { outbox: 0 }).lean<ExportedMembership[]>(),
      ]);
      const organizationIds = [...new Set(memberships.map((membership) => membership.organizationId))];
      const organizations =
        organizationIds.length === 0 ? [] : await services.organizations.find({ _id: { $in: organizationIds } }, { name: 1, slug: 1, deletedAt: 1 }).lean<ExportedOrganization[]>();
      const organizationById = new Map(organizations.map((organization) => [organization._id, organization]));
      return json(
        200,
        toUserExport(
          user,
          activity.map(toActivityView),
          new Date(),
          memberships.map((membership) => ({ membership, organization: organizationById.get(membership.organizationId) })),
        ),
        { "content-disposition": `attachment; filename="account-export-${user._id}.json"` },
      );
    },
  },
};

