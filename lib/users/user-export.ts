import { z } from "zod";
import { type ActivityView, activityViewSchema } from "../activity/list-activity.js";
import type { UserDocument } from "./user-model.js";
import { toUserView, userViewSchema } from "./user-view.js";

/**
 * GET /api/me/export: a person's data, as they may download it (right of access). A
 * documented, versioned shape, built field by field: sync bookkeeping (the outbox, the
 * welcome-email claim, tombstone and purge markers) never leaks into it, and a field added
 * to the stored document appears here only when added to this schema. A change that removes
 * or renames a field bumps `version`.
 */
export const userExportVersion = 1;

export const exportedUserSchema = userViewSchema
  .omit({ deleted: true })
  .extend({
    /** From Clerk's session webhooks. */
    lastSignInAt: z.iso.datetime().nullable(),
    lastActiveAt: z.iso.datetime().nullable(),
  })
  .strict();

export const userExportSchema = z
  .object({
    version: z.literal(userExportVersion),
    exportedAt: z.iso.datetime(),
    /** The profile: what Clerk told us (email addresses, names, image, public metadata, flags) and what the user set here. */
    user: exportedUserSchema,
    /** Every sign-in activity record kept (ACTIVITY_RETENTION_DAYS), newest first. */
    activity: z.array(activityViewSchema),
  })
  .strict()
  .meta({ description: "Everything stored about the caller, version 1. Sync bookkeeping is not personal data and is not included." });

export type UserExport = z.infer<typeof userExportSchema>;

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

/** Pure: the export of a live user and their activity views (newest first). */
export function toUserExport(user: UserDocument, activity: ActivityView[], now: Date = new Date()): UserExport {
  const { deleted: _deleted, ...view } = toUserView(user);
  return {
    version: userExportVersion,
    exportedAt: now.toISOString(),
    user: { ...view, lastSignInAt: iso(user.lastSignInAt), lastActiveAt: iso(user.lastActiveAt) },
    activity,
  };
}
