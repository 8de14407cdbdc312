import { NonRetriableError } from "inngest";
import type { z } from "zod";
import { type ClerkUserEventType, clerkUserDeletedSchema, clerkUserSchema } from "../../lib/clerk/user-payload.js";
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
 * One run at a time per Clerk user (scope `env`, with a shared key). This only reduces
 * contention: ordering is the sync rules' job, since Inngest does not run queued events in
 * the order they were sent. The user event functions are batched, where a key would only see
 * a batch's first event: they rely on the rules and the store's compare-and-set alone.
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

/** An event of a batch as the store takes it, or why it cannot be applied (it never will be). */
export type ParsedUserEvent = { ok: true; change: SyncEvent } | { ok: false; unapplied: Unapplied };

/** An event that was not applied, as the audit trail names it. */
export interface Unapplied {
  userId: string;
  sourceEventId: string | null;
  detail: string;
}

/** Parses one Clerk user event of a batch without throwing: one bad payload must not hold back the others. */
export function parseUserEvent(type: ClerkUserEventType, event: ClerkUserInngestEvent): ParsedUserEvent {
  try {
    const origin = webhookOrigin(event);
    const change = type === "user.deleted" ? toDeleteEvent(event.data, event.ts, origin) : toUpsertEvent(event.data, origin);
    return { ok: true, change };
  } catch (error) {
    if (!(error instanceof NonRetriableError)) throw error;
    return { ok: false, unapplied: unappliedEvent(event, error.message) };
  }
}

export type ClerkUserInngestEvent = { id?: string; ts?: number; data: unknown };

export function unappliedEvent(event: ClerkUserInngestEvent, detail: string): Unapplied {
  const id = (event.data as { id?: unknown } | null)?.id;
  return { userId: typeof id === "string" ? id : "unknown", sourceEventId: event.id ?? null, detail: detail.slice(0, 500) };
}

/**
 * Writes what the audit trail keeps of events that were not applied: `rejected` (a payload
 * that will never validate) or `failed` (a run that exhausted its retries: the reconciliation
 * report counts these, and the next run repairs them).
 */
export async function recordUnapplied(deps: Pick<SyncFunctionDeps, "audit">, decision: "rejected" | "failed", events: readonly Unapplied[]): Promise<void> {
  if (events.length === 0) return;
  await (await deps.audit()).record(events.map(({ userId, sourceEventId, detail }) => ({ userId, source: "webhook" as const, sourceEventId, decision, change: null, detail })));
}
