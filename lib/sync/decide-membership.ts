/**
 * The sync rules for organization memberships, with no I/O.
 *
 * A membership is stored once per (organization, user) pair, but Clerk gives a member who is
 * removed and re-added a new membership id. So a stored membership remembers which of Clerk's
 * memberships it holds, and memberships are ordered by generation (when Clerk created them,
 * then the id): a later generation replaces an earlier one, live or removed, and an event of an
 * earlier generation changes nothing, so a late event of the old membership neither revives nor
 * removes the new one. Within one generation the user rules apply: ordered by Clerk's
 * `updated_at`, idempotent, and a deletion is final for that membership id.
 *
 * A membership of a deleted organization or of a deleted user is never created or revived:
 * those deletions end every membership (the store cascades them).
 */

/** Which of Clerk's memberships, and which version of it. */
export interface MembershipVersion {
  membershipId: string;
  /** Clerk's `created_at` of the membership (ms): a re-added member's new membership is later. */
  generation: number;
  /** Clerk's `updated_at` (ms). */
  version: number;
}

export type StoredMembershipState = (MembershipVersion & { kind: "live" }) | (MembershipVersion & { kind: "removed" });

export type MembershipChange = (MembershipVersion & { kind: "upsert" }) | (MembershipVersion & { kind: "delete" });

/** Whether the membership's organization and user still exist here (tombstones end memberships). */
export interface MembershipParents {
  organizationDeleted: boolean;
  userDeleted: boolean;
}

export type MembershipSkipReason = "duplicate" | "stale" | "removed" | "superseded" | "organization-deleted" | "user-deleted";

export type MembershipDecision =
  | { kind: "insert" }
  | { kind: "insert-removed" }
  /** Replace what is stored (compare-and-set on the stored membership id and version). */
  | { kind: "replace"; expected: MembershipVersion; removed: boolean }
  | { kind: "skip"; reason: MembershipSkipReason };

/** Negative when `a` is an earlier membership than `b`, 0 for the same one. */
export function compareGenerations(a: Pick<MembershipVersion, "membershipId" | "generation">, b: Pick<MembershipVersion, "membershipId" | "generation">): number {
  if (a.generation !== b.generation) return a.generation - b.generation;
  return a.membershipId < b.membershipId ? -1 : a.membershipId > b.membershipId ? 1 : 0;
}

export function decideMembership(stored: StoredMembershipState | null, change: MembershipChange, parents: MembershipParents): MembershipDecision {
  const removal = change.kind === "delete";
  // A removal is always allowed to land: it can only take access away.
  if (!removal && parents.organizationDeleted) return { kind: "skip", reason: "organization-deleted" };
  if (!removal && parents.userDeleted) return { kind: "skip", reason: "user-deleted" };

  if (!stored) return { kind: removal ? "insert-removed" : "insert" };
  const order = compareGenerations(change, stored);
  if (order < 0) return { kind: "skip", reason: "superseded" };
  const expected = { membershipId: stored.membershipId, generation: stored.generation, version: stored.version };
  if (order > 0) return { kind: "replace", expected, removed: removal };

  if (stored.kind === "removed") return { kind: "skip", reason: removal ? "duplicate" : "removed" };
  if (removal) return { kind: "replace", expected, removed: true };
  if (change.version < stored.version) return { kind: "skip", reason: "stale" };
  if (change.version === stored.version) return { kind: "skip", reason: "duplicate" };
  return { kind: "replace", expected, removed: false };
}
