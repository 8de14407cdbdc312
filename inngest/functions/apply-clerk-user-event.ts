import { NonRetriableError } from "inngest";
import type { z } from "zod";
import { clerkUserDeletedSchema, clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import type { SyncEvent } from "../../lib/sync/types.js";
import type { MaintenanceServices } from "../../lib/reconcile/maintenance-services.js";
import type { UserStore } from "../../lib/users/user-store.js";
import { formatIssues } from "../../lib/validation/format-issues.js";

export interface SyncFunctionDeps {
  /** Resolved lazily so that serving the functions never waits on the database. */
  users: () => Promise<UserStore>;
}

export interface FunctionDeps extends SyncFunctionDeps {
  maintenance: () => Promise<MaintenanceServices>;
  schedule: { reconcileCron: string; purgeCron: string; deletedUserRetentionMs: number };
}

/**
 * One run at a time per Clerk user, across all three user functions (scope `env`
 * with a shared key). This only reduces contention: ordering is the sync rules'
 * job, since Inngest does not run queued events in the order they were sent.
 */
export const perUserConcurrency = {
  limit: 1,
  key: `"clerk-user:" + event.data.id`,
  scope: "env",
} as const;

/** A payload that fails validation will fail every retry too: stop at once. */
function parseOrStop<T extends z.ZodType>(schema: T, data: unknown): z.infer<T> {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new NonRetriableError(`invalid Clerk payload: ${formatIssues(parsed.error.issues).join("; ")}`);
  }
  return parsed.data;
}

export function toUpsertEvent(data: unknown): SyncEvent {
  const user = parseOrStop(clerkUserSchema, data);
  return { kind: "upsert", userId: user.id, snapshot: toUserSnapshot(user) };
}

/** `user.deleted` carries no `updated_at`; the event time (envelope or receipt) dates the tombstone. */
export function toDeleteEvent(data: unknown, eventTs: number | undefined): SyncEvent {
  const { id } = parseOrStop(clerkUserDeletedSchema, data);
  return { kind: "delete", userId: id, deletedAt: new Date(eventTs ?? Date.now()) };
}
