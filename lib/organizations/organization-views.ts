import { z } from "zod";
import type { MembershipDocument } from "./membership-model.js";
import type { OrganizationDocument } from "./organization-model.js";

/** What the API shows of an organization (to its members). */
export const organizationViewSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  slug: z.string().nullable(),
  imageUrl: z.string().nullable(),
  publicMetadata: z.record(z.string(), z.unknown()),
  membersCount: z.number().int().nullable(),
});
export type OrganizationView = z.infer<typeof organizationViewSchema>;

/** One of the caller's memberships. */
export const myOrganizationViewSchema = z.object({
  organization: organizationViewSchema,
  role: z.string(),
  permissions: z.array(z.string()),
});

/** A member, as other members see them (no email: only what Clerk shows in an organization). */
export const memberViewSchema = z.object({
  userId: z.string(),
  role: z.string(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  username: z.string().nullable(),
  imageUrl: z.string().nullable(),
});
export type MemberView = z.infer<typeof memberViewSchema>;

/** `limit` 1-100 (default 20), `cursor`: the `nextCursor` of the previous page. Strict. */
export const pageQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().regex(/^[A-Za-z0-9_]{1,128}$/, "must be the nextCursor of the previous page").optional(),
  })
  .strict();

export function toOrganizationView(organizationId: string, organization: OrganizationDocument | null): OrganizationView {
  return {
    id: organizationId,
    name: organization?.name ?? null,
    slug: organization?.slug ?? null,
    imageUrl: organization?.imageUrl ?? null,
    publicMetadata: (organization?.publicMetadata as Record<string, unknown> | undefined) ?? {},
    membersCount: organization?.membersCount ?? null,
  };
}

export function toMemberView(membership: MembershipDocument, user: { firstName?: string | null; lastName?: string | null; username?: string | null; imageUrl?: string | null } | undefined): MemberView {
  return {
    userId: membership.userId,
    role: membership.role ?? "",
    firstName: user?.firstName ?? null,
    lastName: user?.lastName ?? null,
    username: user?.username ?? null,
    imageUrl: user?.imageUrl ?? null,
  };
}
