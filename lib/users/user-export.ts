import { z } from "zod";
import { type ActivityView, activityViewSchema } from "../activity/list-activity.js";
import { fieldsIn, jsonShape, projectJson } from "../contract/field-table.js";
import { userFields } from "./user-contract.js";
import type { UserDocument } from "./user-model.js";

/**
 * GET /api/me/export: a person's data, as they may download it (right of access). A
 * documented, versioned shape, built field by field from the user contract's `export` fields
 * (lib/users/user-contract.ts): sync bookkeeping (the outbox, the welcome-email claim,
 * tombstone and purge markers) never leaks into it, and a stored field appears here only when
 * the contract puts it in the export. A change that removes or renames a field bumps `version`.
 */
const userExportVersion = 1;

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
  })
  .strict()
  .meta({ description: "Everything stored about the caller, version 1. Sync bookkeeping is not personal data and is not included." });

export type UserExport = z.infer<typeof userExportSchema>;

/** Pure: the export of a live user and their activity views (newest first). */
export function toUserExport(user: UserDocument, activity: ActivityView[], now: Date = new Date()): UserExport {
  return {
    version: userExportVersion,
    exportedAt: now.toISOString(),
    user: projectJson(userFields, exportFields, user) as UserExport["user"],
    activity,
  };
}
