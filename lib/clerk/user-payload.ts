import type { UserDeletedJSON, UserJSON, UserWebhookEvent } from "@clerk/backend";
import { z } from "zod";

/**
 * Zod schemas for the parts of Clerk's user payloads the sync relies on. Unknown
 * fields are allowed (Clerk adds fields over time); we validate, then forward the
 * payload as Clerk sent it. No transforms, so one schema also types the Inngest
 * event (input = output).
 */

const nullableString = z.string().nullable();

const clerkEmailAddressSchema = z.object({
  id: z.string().min(1),
  email_address: z.string().min(1),
  verification: z.object({ status: z.string() }).nullable().optional(),
});

export const clerkUserSchema = z.object({
  id: z.string().min(1).max(128),
  object: z.literal("user").optional(),
  username: nullableString.optional(),
  first_name: nullableString.optional(),
  last_name: nullableString.optional(),
  image_url: nullableString.optional(),
  primary_email_address_id: nullableString.optional(),
  email_addresses: z.array(clerkEmailAddressSchema),
  public_metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  banned: z.boolean().optional(),
  locked: z.boolean().optional(),
  created_at: z.number().int().nonnegative(),
  updated_at: z.number().int().nonnegative(),
});

export const clerkUserDeletedSchema = z.object({
  id: z.string().min(1).max(128),
  object: z.string().optional(),
  deleted: z.boolean().optional(),
});

export type ClerkUser = z.infer<typeof clerkUserSchema>;
export type ClerkUserDeleted = z.infer<typeof clerkUserDeletedSchema>;

/** The user webhook types we act on; anything else is acknowledged and ignored. */
export const clerkUserEventTypes = ["user.created", "user.updated", "user.deleted"] as const;
export type ClerkUserEventType = (typeof clerkUserEventTypes)[number];

export function isClerkUserEventType(type: string): type is ClerkUserEventType {
  return (clerkUserEventTypes as readonly string[]).includes(type);
}

/** The data schema that validates each user event type's `data`. */
export const clerkUserEventDataSchemas = {
  "user.created": clerkUserSchema,
  "user.updated": clerkUserSchema,
  "user.deleted": clerkUserDeletedSchema,
} as const satisfies Record<ClerkUserEventType, z.ZodType>;

type Assignable<T, U extends T> = U;
/**
 * @public Compile-time proof that Clerk's own types satisfy our schemas: if @clerk/backend
 * changes a field we rely on, typecheck fails here rather than a webhook at runtime.
 */
export type ClerkTypesMatchOurSchemas = [
  Assignable<ClerkUser, UserJSON>,
  Assignable<ClerkUserDeleted, Required<Pick<UserDeletedJSON, "id">> & UserDeletedJSON>,
  Assignable<ClerkUserEventType, Extract<UserWebhookEvent["type"], ClerkUserEventType>>,
];
