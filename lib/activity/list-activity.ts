import { z } from "zod";
import type { ActivityDocument, ActivityModel } from "./activity-model.js";
// The kinds come from a model-free module: the OpenAPI document is built from these schemas without Mongoose.
import { activityKinds } from "./activity-kinds.js";

/** Where the previous page ended: the last record's time and `_id` (the tie-breaker). */
export interface ActivityCursor {
  at: number;
  id: string;
}

const cursorPayload = z.tuple([z.number().int().nonnegative(), z.string().min(1).max(300)]);

export const encodeActivityCursor = (cursor: ActivityCursor) => Buffer.from(JSON.stringify([cursor.at, cursor.id]), "utf8").toString("base64url");

/** `null` for anything that is not a cursor this API issued. */
export function decodeActivityCursor(text: string): ActivityCursor | null {
  try {
    const parsed = cursorPayload.safeParse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
    return parsed.success ? { at: parsed.data[0], id: parsed.data[1] } : null;
  } catch {
    return null;
  }
}

const cursorMessage = "must be a cursor returned by a previous page";

/** GET /api/me/activity query. Strict: an unknown parameter is a 400, not ignored. */
export const listActivityQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .max(500)
      .regex(/^[A-Za-z0-9_-]+$/, cursorMessage)
      .transform((text, ctx) => {
        const cursor = decodeActivityCursor(text);
        if (cursor) return cursor;
        ctx.addIssue({ code: "custom", message: cursorMessage });
        return z.NEVER;
      })
      .meta({ description: "Opaque (base64url): the `nextCursor` of the previous page." })
      .optional(),
  })
  .strict();

export type ListActivityQuery = z.infer<typeof listActivityQuerySchema>;

/** One activity record as the API returns it. */
export const activityViewSchema = z.object({
  kind: z.enum(activityKinds),
  sessionId: z.string(),
  at: z.iso.datetime(),
  clientIp: z.string().nullable(),
  userAgent: z.string().nullable(),
});
export type ActivityView = z.infer<typeof activityViewSchema>;

export const toActivityView = (doc: ActivityDocument): ActivityView => ({
  kind: doc.kind,
  sessionId: doc.sessionId,
  at: doc.at.toISOString(),
  clientIp: doc.clientIp ?? null,
  userAgent: doc.userAgent ?? null,
});

/**
 * Pure: the filter for one user's page, newest first, ordered by (`at`, `_id`) descending so
 * records with the same time are neither skipped nor repeated across pages. The user id
 * always comes from the caller, never from the cursor.
 */
export function buildActivityFilter(userId: string, cursor: ActivityCursor | undefined): Record<string, unknown> {
  if (!cursor) return { userId };
  const at = new Date(cursor.at);
  return { userId, $or: [{ at: { $lt: at } }, { at, _id: { $lt: cursor.id } }] };
}

export async function listActivity(
  activity: ActivityModel,
  userId: string,
  query: ListActivityQuery,
): Promise<{ records: ActivityDocument[]; nextCursor: string | null }> {
  const page = await activity
    .find(buildActivityFilter(userId, query.cursor))
    .sort({ at: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean<ActivityDocument[]>();
  const hasMore = page.length > query.limit;
  const shown = hasMore ? page.slice(0, query.limit) : page;
  const last = shown.at(-1);
  return { records: shown, nextCursor: hasMore && last ? encodeActivityCursor({ at: last.at.getTime(), id: last._id }) : null };
}
