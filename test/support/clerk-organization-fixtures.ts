import type { OrganizationJSON, OrganizationMembershipJSON } from "@clerk/backend";

/** A Clerk organization payload as webhooks and the Backend API send it. */
export function clerkOrganization(options: { id: string; updatedAt: number; createdAt?: number; name?: string; slug?: string; publicMetadata?: Record<string, unknown> }): OrganizationJSON {
  return {
    object: "organization",
    id: options.id,
    name: options.name ?? `Org ${options.id}`,
    slug: options.slug ?? options.id.replace(/_/g, "-"),
    image_url: `https://img.clerk.com/${options.id}.png`,
    has_image: false,
    members_count: 1,
    max_allowed_memberships: 5,
    admin_delete_enabled: true,
    public_metadata: options.publicMetadata ?? {},
    private_metadata: { secret: "never stored" },
    created_at: options.createdAt ?? 1,
    updated_at: options.updatedAt,
  } as OrganizationJSON;
}

/** A Clerk membership payload; `createdAt` is the membership's generation (a re-added member gets a new id and a later one). */
export function clerkMembership(options: {
  id: string;
  organizationId: string;
  userId: string;
  updatedAt: number;
  createdAt?: number;
  role?: string;
  permissions?: string[];
}): OrganizationMembershipJSON {
  return {
    object: "organization_membership",
    id: options.id,
    role: options.role ?? "org:member",
    permissions: options.permissions ?? [],
    public_metadata: {},
    private_metadata: {},
    created_at: options.createdAt ?? 1,
    updated_at: options.updatedAt,
    organization: clerkOrganization({ id: options.organizationId, updatedAt: 1 }),
    public_user_data: { identifier: `${options.userId}@example.test`, first_name: "Ada", last_name: null, image_url: "", has_image: false, user_id: options.userId },
  } as OrganizationMembershipJSON;
}
