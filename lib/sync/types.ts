import type { UserSnapshot } from "../users/user-contract.js";

/** The user as the sync stores it, mapped from Clerk's payload: declared field by field in the user contract. */
export type { UserSnapshot };

/** Which layer of consistency a change came through, and what caused it (for app events and the audit trail). */
export interface SyncOrigin {
  source: "webhook" | "fallback" | "reconcile" | "replay";
  /** The Svix or Inngest event id, request id, or reconciliation run id. */
  sourceEventId: string | null;
}

/** One change Clerk reported, whichever path (webhook, direct Inngest, fallback) it came by. */
export type SyncEvent = (
  | { kind: "upsert"; userId: string; snapshot: UserSnapshot }
  | { kind: "delete"; userId: string; deletedAt: Date }
) & { origin?: SyncOrigin };

/**
 * The part of a stored user the rules look at; `null` when no document exists.
 * A live user's version is the Clerk `updated_at` (ms) of the last applied snapshot.
 */
export type StoredSyncState = { kind: "live"; version: number } | { kind: "tombstoned"; deletedAt: Date };

/** The change the rules look at, for any entity versioned by Clerk's `updated_at` (users, organizations). */
export type EntityChange<Snapshot extends { clerkUpdatedAt: Date }> = { kind: "upsert"; snapshot: Snapshot } | { kind: "delete"; deletedAt: Date };

/** What an event does to the stored entity. Writes carry the state they expect (compare-and-set). */
export type SyncDecision<Snapshot = UserSnapshot> =
  | { kind: "insert"; snapshot: Snapshot }
  | { kind: "update"; snapshot: Snapshot; expectedVersion: number }
  | { kind: "tombstone"; deletedAt: Date }
  | { kind: "insert-tombstone"; deletedAt: Date }
  | { kind: "skip"; reason: SkipReason };

export type SyncWrite<Snapshot = UserSnapshot> = Exclude<SyncDecision<Snapshot>, { kind: "skip" }>;

export type SkipReason = "duplicate" | "stale" | "tombstoned";

/** What applying an event did, as the store reports it. */
export type SyncOutcome =
  | { kind: "created" }
  | { kind: "updated" }
  | { kind: "deleted" }
  | { kind: "skipped"; reason: SkipReason };

/** The app events the sync writes into outboxes (schemas in inngest/events.ts). */
export type AppEventName =
  | "app/user.created"
  | "app/user.updated"
  | "app/user.deleted"
  | "app/organization.created"
  | "app/organization.updated"
  | "app/organization.deleted"
  | "app/membership.created"
  | "app/membership.updated"
  | "app/membership.deleted";

/**
 * An app event as stored in the outbox of the user, organization or membership whose change it
 * reports, and sent to Inngest (see inngest/events.ts for the schemas).
 */
export interface AppEvent {
  /** Deterministic: derived from the change, so re-sending it is a no-op downstream. */
  id: string;
  name: AppEventName;
  data: Record<string, unknown>;
}
