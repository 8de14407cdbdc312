import { z } from "zod";
import { type ActivityView, activityViewSchema } from "../activity/list-activity.js";
import { fieldsIn, jsonShape, projectJson } from "../contract/field-table.js";
import type { MembershipDocument } from "../organizations/membership-model.js";
import type { OrganizationDocument } from "../organizations/organization-model.js";
import { userFields } from "./user-contract.js";
import type { UserDocument } from "./user-model.js";

/**
 * GET /api/me/export: a person's data, as they may download it (right of access). A
 * documented, versioned shape, built field by field from the user contract's `export` fields
 * (lib/users/user-contract.ts): sync bookkeeping (the outbox, the welcome-email claim,
 * tombstone and purge markers) never leaks into it, and a stored field appears here only when
 * the contract puts it in the export. A change that removes or renames a field bumps `version`;
 * an added field does not (the memberships were added in version 1: a reader of version 1
 * must ignore fields it does not know).
 */
const userExportVersion = 1;

/**
 * One of the person's organization memberships, live or ended (an ended one is kept until its
 * user's retention purge): which organization, with which role and permissions, and when.
 */
export const membershipExportSchema = z
  .object({
    organization: z.object({
      id: z.string(),
      /** `null` while the organization's own webhook has not arrived, or once it was deleted. */
      name: z.string().nullable(),
      slug: z.string().nullable(),
    }),
    role: z.string().nullable(),
    permissions: z.array(z.string()),
    publicMetadata: z.record(z.string(), z.unknown()),
    /** When Clerk created the membership; `null` when it is known only from a session token so far. */
    joinedAt: z.iso.datetime().nullable(),
    /** The version held: Clerk's `updated_at`, or the session token's issue time. */
    updatedAt: z.iso.datetime(),
    /** When the person stopped being a member (removed, or the organization was deleted); `null` while a member. */
    removedAt: z.iso.datetime().nullable(),
  })
  .strict();
export type MembershipExport = z.infer<typeof membershipExportSchema>;

const exportFields = fieldsIn(userFields, "export");

const exportedUserSchema = z.object(jsonShape(userFields, "export")).strict();

export const userExportSchema = z
  .object({
    version: z.literal(userExportVersion),
    exportedAt: z.iso.datetime(),
    /** The profile: what Clerk told us (email addresses, names, image, public metadata, flags, sign-in times) and what the user set here. */
    user: exportedUserSchema,
    /** Every sign-in activity record kept (ACTIVITY_RETENTION_DAYS), newest first. */
    activity: z.array(activityViewSchema),
    /** Every organization membership kept, live and ended, by organization id. */
    memberships: z.array(membershipExportSchema),
  })
  .strict()
  .meta({
    description:
      "Everything stored about the caller, version 1: profile, sign-in activity and organization memberships. Sync bookkeeping is not personal data and is not included.",
  });

export type UserExport = z.infer<typeof userExportSchema>;

/** What the export reads of a stored membership and of its organization. */
export type ExportedMembership = Pick<MembershipDocument, "organizationId" | "role" | "permissions" | "publicMetadata" | "generation" | "clerkUpdatedAt" | "removedAt">;
export type ExportedOrganization = Pick<OrganizationDocument, "_id" | "name" | "slug" | "deletedAt">;

/** Pure: a stored membership as exported; `organization` is `undefined` when it is not stored (yet). */
function toMembershipExport(membership: ExportedMembership, organization: ExportedOrganization | undefined): MembershipExport {
  const known = organization && !organization.deletedAt ? organization : undefined;
  return {
    organization: { id: membership.organizationId, name: known?.name ?? null, slug: known?.slug ?? null },
    role: membership.role ?? null,
    permissions: [...(membership.permissions ?? [])],
    publicMetadata: (membership.publicMetadata as Record<string, unknown> | null | undefined) ?? {},
    // A membership known only from a session token is generation 0 (lib/organizations/organization-access.ts).
    joinedAt: membership.generation.getTime() > 0 ? membership.generation.toISOString() : null,
    updatedAt: membership.clerkUpdatedAt.toISOString(),
    removedAt: membership.removedAt?.toISOString() ?? null,
  };
}

/** Pure: the export of a live user, their activity views (newest first) and their memberships (in any order: sorted here). */
export function toUserExport(
  user: UserDocument,
  activity: ActivityView[],
  now: Date = new Date(),
  memberships: readonly { membership: ExportedMembership; organization: ExportedOrganization | undefined }[] = [],
): UserExport {
  return {
    version: userExportVersion,
    exportedAt: now.toISOString(),
    user: projectJson(userFields, exportFields, user) as UserExport["user"],
    activity,
    memberships: memberships
      .map(({ membership, organization }) => toMembershipExport(membership, organization))
      .sort((a, b) => (a.organization.id < b.organization.id ? -1 : a.organization.id > b.organization.id ? 1 : 0)),
  };
}
