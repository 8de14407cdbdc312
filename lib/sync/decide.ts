import type { EntityChange, StoredSyncState, SyncDecision } from "./types.js";

/** How to decide. */
export interface DecideOptions {
  /**
   * Re-derive: an upsert carrying the version already stored is rewritten (an update guarded by
   * that version) instead of skipped as a duplicate, so a fixed mapping reaches every user
   * without Clerk changing them. It never overrides the other guarantees: a stored newer version
   * stays (the snapshot in hand is older than what we hold: writing it would move the user back
   * in time and let a redelivered in-between version apply again), and a tombstone stays final.
   */
  force?: boolean;
}

/**
 * The sync rules, with no I/O. Given what is stored and what Clerk reported, decide
 * what to write. The guarantees every path relies on:
 * - idempotent: an event whose version is already stored is a duplicate (unless `force`);
 * - ordered: an event older (by Clerk's `updated_at`) than what is stored is stale;
 * - final deletion: Clerk never reuses a user (or organization) id, so once tombstoned, nothing revives it.
 * The same rules serve every entity versioned by Clerk's `updated_at`: users and organizations.
 */
export function decide<Snapshot extends { clerkUpdatedAt: Date }>(
  stored: StoredSyncState | null,
  event: EntityChange<Snapshot>,
  options: DecideOptions = {},
): SyncDecision<Snapshot> {
  if (event.kind === "delete") return decideDelete(stored, event.deletedAt);
  const { snapshot } = event;
  if (!stored) return { kind: "insert", snapshot };
  if (stored.kind === "tombstoned") return { kind: "skip", reason: "tombstoned" };

  const incoming = snapshot.clerkUpdatedAt.getTime();
  if (incoming < stored.version) return { kind: "skip", reason: "stale" };
  if (incoming === stored.version && !options.force) return { kind: "skip", reason: "duplicate" };
  return { kind: "update", snapshot, expectedVersion: stored.version };
}

function decideDelete<Snapshot>(stored: StoredSyncState | null, deletedAt: Date): SyncDecision<Snapshot> {
  if (!stored) return { kind: "insert-tombstone", deletedAt };
  if (stored.kind === "tombstoned") return { kind: "skip", reason: "duplicate" };
  return { kind: "tombstone", deletedAt };
}
