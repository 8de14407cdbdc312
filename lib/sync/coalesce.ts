import type { SkipReason, SyncEvent } from "./types.js";

/** What `coalesce` keeps: at most one event per user, and why each other event adds nothing. */
export interface Coalesced {
  /** The event per user that decides the user's state, in the order of their first appearance. */
  winners: SyncEvent[];
  /** Every other event, with the reason it changes nothing that its user's winner does not. */
  superseded: { index: number; reason: SkipReason }[];
  /** `winners[k]` came from `events[winnerIndexes[k]]`. */
  winnerIndexes: number[];
}

/**
 * Pure: folds a batch of events (Inngest hands a function up to `maxSize` at once, in no
 * particular order, duplicates included) into one event per user, so that the store applies a
 * batch with one read and one bulk write. Applying the winners gives the same stored state as
 * applying every event one by one, in any order, because the rules only move a user forward:
 * - a deletion wins over any upsert (deletion is final), the earliest deletion time among
 *   duplicates dates the tombstone whatever order they came in;
 * - otherwise the newest Clerk version (`updated_at`) wins; an older one is `stale`, the same
 *   version again is a `duplicate` (the first seen is kept: Clerk never sends two contents for
 *   one version).
 * Intermediate versions are not announced separately: one `app/user.updated` reports the change
 * from the stored state to the winner.
 */
export function coalesce(events: readonly SyncEvent[]): Coalesced {
  const best = new Map<string, number>();
  for (const [index, event] of events.entries()) {
    const current = best.get(event.userId);
    if (current === undefined || beats(event, events[current] as SyncEvent)) best.set(event.userId, index);
  }
  const winnerIndexes = [...best.values()].sort((a, b) => a - b);
  const winners = winnerIndexes.map((index) => events[index] as SyncEvent);
  const superseded: Coalesced["superseded"] = [];
  for (const [index, event] of events.entries()) {
    const winner = best.get(event.userId) as number;
    if (winner !== index) superseded.push({ index, reason: reasonAgainst(event, events[winner] as SyncEvent) });
  }
  return { winners, superseded, winnerIndexes };
}

/** Does `challenger` decide its user's state rather than `holder`? Strict, so ties keep the first seen. */
function beats(challenger: SyncEvent, holder: SyncEvent): boolean {
  if (challenger.kind === "delete") return holder.kind !== "delete" || challenger.deletedAt.getTime() < holder.deletedAt.getTime();
  if (holder.kind === "delete") return false;
  return challenger.snapshot.clerkUpdatedAt.getTime() > holder.snapshot.clerkUpdatedAt.getTime();
}

function reasonAgainst(event: SyncEvent, winner: SyncEvent): SkipReason {
  if (winner.kind === "delete") return event.kind === "delete" ? "duplicate" : "tombstoned";
  if (event.kind === "delete") throw new Error("unreachable: a deletion always wins");
  return event.snapshot.clerkUpdatedAt.getTime() === winner.snapshot.clerkUpdatedAt.getTime() ? "duplicate" : "stale";
}
