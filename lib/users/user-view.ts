import { z } from "zod";
import type { UserDocument } from "./user-model.js";

/**
 * What the API returns for a user, and the profile fields a user may edit. These
 * schemas are the contract: the OpenAPI document and the typed client derive from them.
 */

/**
 * Any well-formed BCP 47 language tag (as a Unicode locale identifier: `en`, `en-GB`, `es-419`,
 * `zh-Hant-TW`, `de-DE-u-co-phonebk`), stored canonicalised by `Intl.getCanonicalLocales`
 * (`EN-gb` → `en-GB`). Private-use-only (`x-…`) and irregular grandfathered tags are refused.
 */
export const localeSchema = z
  .string()
  .max(64)
  .transform((tag, ctx) => {
    try {
      const [canonical] = Intl.getCanonicalLocales(tag);
      if (canonical) return canonical;
    } catch {
      // RangeError: not a well-formed tag; reported below.
    }
    ctx.addIssue({ code: "custom", message: "must be a BCP 47 language tag like en, en-GB, es-419 or zh-Hant-TW" });
    return z.NEVER;
  })
  .meta({ description: "A BCP 47 language tag; stored and returned canonicalised (`EN-gb` becomes `en-GB`)." });

/**
 * Text a person types: no control characters (C0, DEL and C1: NUL, ESC, U+0085…), which no UI
 * shows and some databases refuse, and well-formed Unicode (a lone surrogate from a JSON
 * `\ud800` escape is refused, never stored as U+FFFD). Patterns, not refinements, so the
 * OpenAPI document states the rule. `bio` is multi-line: tab, LF and CR are allowed there.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const noControlCharacters = /^[^\x00-\x1F\x7F-\x9F]*$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const noControlCharactersButTabAndLineBreaks = /^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$/;
/** With the `u` flag a paired surrogate is one code point, so `\p{Cs}` matches only lone ones. */
const wellFormed = (text: string) => !/\p{Cs}/u.test(text);
const loneSurrogate = { message: "must be well-formed Unicode (no lone surrogates)" };

// The pattern is checked before trimming, as the OpenAPI document states it: a leading newline is refused too.
const displayNameSchema = z
  .string()
  .regex(noControlCharacters, "must not contain control characters")
  .trim()
  .min(1)
  .max(80)
  .refine(wellFormed, loneSurrogate);
const bioSchema = z
  .string()
  .max(500)
  .regex(noControlCharactersButTabAndLineBreaks, "must not contain control characters other than tab and line breaks")
  .refine(wellFormed, loneSurrogate);
const themeSchema = z.enum(["light", "dark", "system"]);

/** The preferences a user may send (PATCH): the locale is validated and canonicalised. */
export const preferencesSchema = z
  .object({
    theme: themeSchema.optional(),
    locale: localeSchema.optional(),
    emailNotifications: z.boolean().optional(),
  })
  .strict();

/** The stored profile, as the API returns it. */
export const profileSchema = z
  .object({
    displayName: z.string().optional(),
    bio: z.string().optional(),
    preferences: z
      .object({ theme: themeSchema.optional(), locale: z.string().optional(), emailNotifications: z.boolean().optional() })
      .strict()
      .optional(),
  })
  .strict();

/**
 * PATCH /api/me: only app-owned fields. `.strict()` makes any other key (`id`,
 * `email`, `banned`, `publicMetadata`, `$set`…) a 400 instead of a silent drop;
 * `null` clears a field.
 */
export const profilePatchSchema = z
  .object({
    displayName: displayNameSchema.nullable().optional(),
    bio: bioSchema.nullable().optional(),
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
