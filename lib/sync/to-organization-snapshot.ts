import type { ClerkMembership, ClerkOrganization } from "../clerk/organization-payload.js";

/** The organization as the sync stores it (private metadata is never kept). */
export interface OrganizationSnapshot {
  name: string;
  slug: string | null;
  imageUrl: string | null;
  publicMetadata: Record<string, unknown>;
  membersCount: number | null;
  clerkCreatedAt: Date;
  /** Clerk's `updated_at`: the version the ordering rule compares. */
  clerkUpdatedAt: Date;
}

/** A membership as the sync stores it, with the Clerk membership it reflects. */
export interface MembershipSnapshot {
  organizationId: string;
  userId: string;
  membershipId: string;
  /** Clerk's `created_at` of this membership: a re-added member's new one is later. */
  generation: Date;
  clerkUpdatedAt: Date;
  role: string;
  permissions: string[];
  publicMetadata: Record<string, unknown>;
}

export function toOrganizationSnapshot(organization: ClerkOrganization): OrganizationSnapshot {
  return {
    name: organization.name,
    slug: organization.slug ?? null,
    imageUrl: organization.image_url ?? null,
    publicMetadata: organization.public_metadata ?? {},
    membersCount: organization.members_count ?? null,
    clerkCreatedAt: new Date(organization.created_at),
    clerkUpdatedAt: new Date(organization.updated_at),
  };
}

export function toMembershipSnapshot(membership: ClerkMembership): MembershipSnapshot {
  return {
    organizationId: membership.organization.id,
    userId: membership.public_user_data.user_id,
    membershipId: membership.id,
    generation: new Date(membership.created_at),
    clerkUpdatedAt: new Date(membership.updated_at),
    role: membership.role,
    permissions: membership.permissions ?? [],
    publicMetadata: membership.public_metadata ?? {},
  };
}
