import type { mongo } from "mongoose";
import { clerkUserSchema } from "../clerk/user-payload.js";
import type { ClerkUsersApi } from "../clerk/clerk-users-api.js";
import type { Logger } from "../logger.js";
import { toUserSnapshot } from "../sync/to-user-snapshot.js";
import { formatIssues } from "../validation/format-issues.js";
import type { UserDocument, UserModel } from "./user-model.js";
import type { UserStore } from "./user-store.js";

/**
 * What a request reads of its caller: the whole stored user but the outbox (app events not yet
 * published, which can be many and which no route reads from the caller's document).
 */
export const callerProjection = { outbox: 0 } as const;

export type ResolvedUser =
  | { kind: "live"; user: UserDocument; source: "database" | "clerk" }
  | { kind: "deleted" }
  | { kind: "unknown" };

export interface UserResolver {
  /** The signed-in user's document, fetched from Clerk and stored if the webhook has not arrived yet. */
  resolve(userId: string): Promise<ResolvedUser>;
}

/**
 * The just-in-time layer of consistency: the first request after sign-up must succeed
 * even when the `user.created` webhook is late or lost. A missing user is fetched from
 * Clerk's Backend API and stored through the same sync rules as the webhooks, so a
 * racing webhook and this fallback agree, and a tombstoned user is never re-created.
 * Concurrent first requests in one instance share one Clerk call; across instances
 * the store's compare-and-set insert keeps it to one document.
 */
export function createUserResolver(deps: {
  users: UserModel;
  store: UserStore;
  clerk: ClerkUsersApi;
  logger: Logger;
  /** Called after the fallback changed a user (to publish its app events off the response path). */
  afterChange?: (userId: string) => void;
}): UserResolver {
  const inflight = new Map<string, Promise<ResolvedUser>>();
  // The model's collection, typed with the stored shape (Mongoose types it for any document).
  const stored = deps.users.collection as unknown as mongo.Collection<UserDocument>;

  async function read(userId: string, source: "database" | "clerk"): Promise<ResolvedUser | null> {
    // Every authenticated request reads its caller: the driver's findOne (through Mongoose's
    // collection, which waits for the connection) returns the plain document `lean()` would,
    // without building a Mongoose query each time, and the outbox's pending events stay on the server.
    const doc = await stored.findOne({ _id: userId }, { projection: callerProjection });
    if (!doc) return null;
    return doc.deletedAt ? { kind: "deleted" } : { kind: "live", user: doc, source };
  }

  async function fetchFromClerk(userId: string): Promise<ResolvedUser> {
    const raw = await deps.clerk.getUser(userId);
    if (!raw) return { kind: "unknown" };
    const parsed = clerkUserSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`Clerk returned an unusable user: ${formatIssues(parsed.error.issues).join("; ")}`);
    const origin = { source: "fallback", sourceEventId: null } as const;
    const outcome = await deps.store.apply({ kind: "upsert", userId, snapshot: toUserSnapshot(parsed.data), origin });
    deps.logger.info({ userId, source: "fallback", outcome }, "user fetched from Clerk on first request");
    if (outcome.kind !== "skipped") deps.afterChange?.(userId);
    return (await read(userId, "clerk")) ?? { kind: "unknown" };
  }

  return {
    async resolve(userId) {
      const stored = await read(userId, "database");
      if (stored) return stored;
      const pending = inflight.get(userId);
      if (pending) return pending;
      const fetching = fetchFromClerk(userId).finally(() => inflight.delete(userId));
      inflight.set(userId, fetching);
      return fetching;
    },
  };
}
