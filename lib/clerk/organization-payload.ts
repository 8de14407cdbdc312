import type { DeletedObjectJSON, OrganizationJSON, OrganizationMembershipJSON, OrganizationMembershipWebhookEvent, OrganizationWebhookEvent } from "@clerk/backend";
import { z } from "zod";

/**
 * Zod schemas for the parts of Clerk's organization and membership payloads the sync relies
 * on (Clerk's documented JSON: `OrganizationJSON`, `OrganizationMembershipJSON`). Unknown
 * fields are allowed, missing required ones fail validation (the functions then stop with a
 * `NonRetriableError`). Private metadata is never read.
 */

const metadata = z.record(z.string(), z.unknown()).nullable().optional();
const clerkTimestamp = z.number().int().nonnegative();

export const clerkOrganizationSchema = z.object({
  id: z.string().min(1).max(128),
  object: z.literal("organization").optional(),
  name: z.string(),
  slug: z.string().nullable().optional(),
  image_url: z.string().nullable().optional(),
  members_count: z.number().int().nonnegative().nullable().optional(),
  public_metadata: metadata,
  created_at: clerkTimestamp,
  updated_at: clerkTimestamp,
});

export const clerkOrganizationDeletedSchema = z.object({
  id: z.string().min(1).max(128),
  object: z.string().optional(),
  deleted: z.boolean().optional(),
});

export const clerkMembershipSchema = z.object({
  id: z.string().min(1).max(128),
  object: z.literal("organization_membership").optional(),
  role: z.string().min(1),
  permissions: z.array(z.string()).optional(),
  public_metadata: metadata,
  created_at: clerkTimestamp,
  updated_at: clerkTimestamp,
  organization: z.object({ id: z.string().min(1).max(128) }),
  public_user_data: z.object({ user_id: z.string().min(1).max(128) }),
});

export type ClerkOrganization = z.infer<typeof clerkOrganizationSchema>;
export type ClerkOrganizationDeleted = z.infer<typeof clerkOrganizationDeletedSchema>;
export type ClerkMembership = z.infer<typeof clerkMembershipSchema>;

/** The organization webhook types we act on. Invitations change no stored state (an accepted one becomes a membership event). */
export const clerkOrganizationEventTypes = [
  "organization.created",
  "organization.updated",
  "organization.deleted",
  "organizationMembership.created",
  "organizationMembership.updated",
  "organizationMembership.deleted",
] as const;
export type ClerkOrganizationEventType = (typeof clerkOrganizationEventTypes)[number];

export function isClerkOrganizationEventType(type: string): type is ClerkOrganizationEventType {
  return (clerkOrganizationEventTypes as readonly string[]).includes(type);
}

/** The data schema that validates each organization event type's `data`. */
export const clerkOrganizationEventDataSchemas = {
  "organization.created": clerkOrganizationSchema,
  "organization.updated": clerkOrganizationSchema,
  "organization.deleted": clerkOrganizationDeletedSchema,
  "organizationMembership.created": clerkMembershipSchema,
  "organizationMembership.updated": clerkMembershipSchema,
  // Clerk sends the whole membership on deletion (with `updated_at`).
  "organizationMembership.deleted": clerkMembershipSchema,
} as const satisfies Record<ClerkOrganizationEventType, z.ZodType>;

type Assignable<T, U extends T> = U;
/** @public Compile-time proof that Clerk's own types satisfy our schemas. */
export type ClerkOrganizationTypesMatchOurSchemas = [
  Assignable<z.input<typeof clerkOrganizationSchema>, OrganizationJSON>,
  Assignable<z.input<typeof clerkMembershipSchema>, OrganizationMembershipJSON>,
  Assignable<ClerkOrganizationDeleted, Required<Pick<DeletedObjectJSON, "id">> & DeletedObjectJSON>,
  Assignable<ClerkOrganizationEventType, OrganizationWebhookEvent["type"] | OrganizationMembershipWebhookEvent["type"]>,
];
