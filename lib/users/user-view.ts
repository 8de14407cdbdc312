import { z } from "zod";
import type { UserDocument } from "./user-model.js";

/**
 * What the API returns for a user, and the profile fields a user may edit. These
 * schemas are the contract: the OpenAPI document and the typed client derive from them.
 */

export const preferencesSchema = z
  .object({
    theme: z.enum(["light", "dark", "system"]).optional(),
    locale: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, "must be a locale like en or en-GB")
      .optional(),
    emailNotifications: z.boolean().optional(),
  })
  .strict();

export const profileSchema = z
  .object({
    displayName: z.string().trim().min(1).max(80).optional(),
    bio: z.string().max(500).optional(),
    preferences: preferencesSchema.optional(),
  })
  .strict();

/**
 * PATCH /api/me: only app-owned fields. `.strict()` makes any other key (`id`,
 * `email`, `banned`, `publicMetadata`, `$set`…) a 400 instead of a silent drop;
 * `null` clears a field.
 */
export const profilePatchSchema = z
  .object({
    displayName: z.string().trim().min(1).max(80).nullable().optional(),
    bio: z.string().max(500).nullable().optional(),
    preferences: preferencesSchema.nullable().optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "must change at least one field");

export const userViewSchema = z.object({
  id: z.string(),
  email: z.string().nullable(),
  emailAddresses: z.array(z.object({ id: z.string(), emailAddress: z.string(), verified: z.boolean() })),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  username: z.string().nullable(),
  imageUrl: z.string().nullable(),
  publicMetadata: z.record(z.string(), z.unknown()),
  banned: z.boolean(),
  locked: z.boolean(),
  profile: profileSchema,
  deleted: z.boolean(),
  clerkCreatedAt: z.iso.datetime().nullable(),
  clerkUpdatedAt: z.iso.datetime().nullable(),
  lastSeenAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export type ProfilePatch = z.infer<typeof profilePatchSchema>;
export type UserView = z.infer<typeof userViewSchema>;

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

export function toUserView(doc: UserDocument): UserView {
  return {
    id: doc._id,
    email: doc.email ?? null,
    emailAddresses: (doc.emailAddresses ?? []).map(({ id, emailAddress, verified }) => ({ id, emailAddress, verified })),
    firstName: doc.firstName ?? null,
    lastName: doc.lastName ?? null,
    username: doc.username ?? null,
    imageUrl: doc.imageUrl ?? null,
    publicMetadata: (doc.publicMetadata as Record<string, unknown> | undefined) ?? {},
    banned: doc.banned ?? false,
    locked: doc.locked ?? false,
    profile: stripEmpty(doc.profile ?? {}),
    deleted: Boolean(doc.deletedAt),
    clerkCreatedAt: iso(doc.clerkCreatedAt),
    clerkUpdatedAt: iso(doc.clerkUpdatedAt),
    lastSeenAt: iso(doc.lastSeenAt),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

function stripEmpty(profile: NonNullable<UserDocument["profile"]>): UserView["profile"] {
  const preferences = Object.fromEntries(Object.entries(profile.preferences ?? {}).filter(([, value]) => value != null));
  return {
    ...(profile.displayName != null && { displayName: profile.displayName }),
    ...(profile.bio != null && { bio: profile.bio }),
    ...(Object.keys(preferences).length > 0 && { preferences }),
  };
}
