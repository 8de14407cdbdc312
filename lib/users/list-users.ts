import { z } from "zod";
import type { UserDocument, UserModel } from "./user-model.js";

const flag = z.enum(["true", "false", "any"]);

/** GET /api/users query. Strict: an unknown parameter (`email[$gt]`…) is a 400, not ignored. */
export const listUsersQuerySchema = z
  .object({
    q: z.string().trim().min(1).max(100).optional(),
    deleted: flag.default("false"),
    banned: flag.default("any"),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .max(200)
      .regex(/^[A-Za-z0-9_-]+$/, "must be a cursor returned by a previous page")
      .meta({ description: "Opaque (base64url): the `nextCursor` of the previous page." })
      .optional(),
  })
  .strict();

export type ListUsersQuery = z.infer<typeof listUsersQuerySchema>;

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const encodeCursor = (lastId: string) => Buffer.from(lastId, "utf8").toString("base64url");
const decodeCursor = (cursor: string) => Buffer.from(cursor, "base64url").toString("utf8");

/**
 * Pure: the MongoDB filter for a page. Sorted by `_id` (the Clerk id), which is unique
 * and stable, so a cursor is just the last id seen. The search is a prefix, anchored,
 * so it can use an index on `email`; user input is escaped, never a pattern.
 */
function buildUserListFilter(query: ListUsersQuery): Record<string, unknown> {
  const clauses: Record<string, unknown>[] = [];
  if (query.deleted !== "any") clauses.push({ deletedAt: query.deleted === "true" ? { $ne: null } : null });
  if (query.banned !== "any") clauses.push({ banned: query.banned === "true" ? true : { $ne: true } });
  if (query.q) {
    const prefix = `^${escapeRegex(query.q)}`;
    clauses.push({
      $or: [
        { email: { $regex: `^${escapeRegex(query.q.toLowerCase())}` } },
        { firstName: { $regex: prefix, $options: "i" } },
        { lastName: { $regex: prefix, $options: "i" } },
        { username: { $regex: prefix, $options: "i" } },
      ],
    });
  }
  if (query.cursor) clauses.push({ _id: { $gt: decodeCursor(query.cursor) } });
  if (clauses.length === 0) return {};
  return clauses.length === 1 ? (clauses[0] as Record<string, unknown>) : { $and: clauses };
}

export async function listUsers(users: UserModel, query: ListUsersQuery): Promise<{ users: UserDocument[]; nextCursor: string | null }> {
  const page = await users
    .find(buildUserListFilter(query))
    .sort({ _id: 1 })
    .limit(query.limit + 1)
    .lean<UserDocument[]>();
  const hasMore = page.length > query.limit;
  const shown = hasMore ? page.slice(0, query.limit) : page;
  const last = shown.at(-1);
  return { users: shown, nextCursor: hasMore && last ? encodeCursor(last._id) : null };
}
