import { z } from "zod";
import type { UserDocument } from "./user-model.js";

/**
 * The app-owned part of a user: the profile a user edits through PATCH /api/me (Clerk owns
 * the rest). The stored profile as the API returns it, and the patch that edits it, field by
 * field; the user contract (user-contract.ts) shows it as the `profile` field.
 */

/**
 * Any well-formed BCP 47 language tag (as a Unicode locale identifier: `en`, `en-GB`, `es-419`,
 * `zh-Hant-TW`, `de-DE-u-co-phonebk`), stored canonicalised by `Intl.getCanonicalLocales`
 * (`EN-gb` → `en-GB`). Private-use-only (`x-…`) and irregular grandfathered tags are refused.
 */
const localeSchema = z
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
const preferencesSchema = z
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

export type ProfilePatch = z.infer<typeof profilePatchSchema>;
export type ProfileView = z.infer<typeof profileSchema>;

/** The stored profile as the API shows it: cleared (null) fields and empty preferences left out. */
export function toProfileView(profile: UserDocument["profile"]): ProfileView {
  const preferences = Object.fromEntries(Object.entries(profile?.preferences ?? {}).filter(([, value]) => value != null));
  return {
    ...(profile?.displayName != null && { displayName: profile.displayName }),
    ...(profile?.bio != null && { bio: profile.bio }),
    ...(Object.keys(preferences).length > 0 && { preferences }),
  };
}
