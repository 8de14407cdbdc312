import { NonRetriableError } from "inngest";
import type { z } from "zod";
import { clerkUserDeletedSchema, clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import type { AuditLog } from "../../lib/audit/audit-log.js";
import type { OutboxPublisher } from "../../lib/events/outbox.js";
import type { SyncEvent, SyncOrigin } from "../../lib/sync/types.js";
import type { SyncCore as MaintenanceServices } from "../../lib/sync-core.js";
import type { UserStore } from "../../lib/users/user-store.js";
import { formatIssues } from "../../lib/validation/format-issues.js";

export interface SyncFunctionDeps {
  /** Resolved lazily so that serving the functions never waits on the database. */
  users: () => Promise<UserStore>;
  /** Publishes the app events a change wrote into the user's outbox. */
  outbox: () => Promise<OutboxPublisher>;
  audit: () => Promise<AuditLog>;
}

export interface FunctionDeps extends SyncFunctionDeps {
  maintenance: () => Promise<MaintenanceServices>;
  schedule: { reconcileCron: string; purgeCron: string; outboxCron: string; deletedUserRetentionMs: number; auditRetentionMs: number };
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

export function toUpsertEvent(data: unknown, origin?: SyncOrigin): SyncEvent {
  const user = parseOrStop(clerkUserSchema, data);
  return { kind: "upsert", userId: user.id, snapshot: toUserSnapshot(user), origin };
}

/** `user.deleted` carries no `updated_at`; the event time (envelope or receipt) dates the tombstone. */
export function toDeleteEvent(data: unknown, eventTs: number | undefined, origin?: SyncOrigin): SyncEvent {
  const { id } = parseOrStop(clerkUserDeletedSchema, data);
  return { kind: "delete", userId: id, deletedAt: new Date(eventTs ?? Date.now()), origin };
}

/** The origin of a Clerk event handled by the sync functions (either delivery path). */
export const webhookOrigin = (event: { id?: string }): SyncOrigin => ({ source: "webhook", sourceEventId: event.id ?? null });

/**
 * When a run has failed for good (retries exhausted, or a payload rejected), the audit
 * trail says so: the reconciliation report counts these, and the next run repairs them.
 */
export function recordFailure(deps: SyncFunctionDeps) {
  return async ({ event, error }: { event: { data: { event: { id?: string; data?: { id?: unknown } } } }; error: Error }) => {
    const original = event.data.event;
    const userId = typeof original.data?.id === "string" ? original.data.id : "unknown";
    const rejected = error.name === "NonRetriableError" || error.name === "EventValidationError";
    await (await deps.audit()).record([
      {
        userId,
        source: "webhook",
        sourceEventId: original.id ?? null,
        decision: rejected ? "rejected" : "failed",
        change: null,
        detail: error.message.slice(0, 500),
      },
    ]);
  };
}
