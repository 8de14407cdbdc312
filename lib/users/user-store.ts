import { isDuplicateKeyError } from "../db/errors.js";
import { decide } from "../sync/decide.js";
import type { StoredSyncState, SyncEvent, SyncOutcome, SyncWrite } from "../sync/types.js";
import type { UserModel } from "./user-model.js";

/** Raised when other writers keep changing a user between our read and our write. Retryable. */
export class WriteConflictError extends Error {
  override readonly name = "WriteConflictError";
  constructor(readonly userId: string, attempts: number) {
    super(`user ${userId} changed under ${attempts} consecutive writes; giving up for this attempt`);
  }
}

const maxAttempts = 5;

export interface UserStore {
  /** Applies one Clerk change through the sync rules; safe to call concurrently and repeatedly. */
  apply(event: SyncEvent): Promise<SyncOutcome>;
}

/**
 * Applies sync decisions to MongoDB. Each decision becomes one conditional write that
 * only succeeds if the document is still in the state the decision was made from
 * (compare-and-set). If a concurrent writer got there first, the write misses, and we
 * read again and re-decide: the rules, not the timing, pick the winner.
 */
export function createUserStore(users: UserModel): UserStore {
  async function readState(userId: string): Promise<StoredSyncState | null> {
    const doc = await users
      .findById(userId, { clerkUpdatedAt: 1, deletedAt: 1 })
      .lean<{ clerkUpdatedAt?: Date | null; deletedAt?: Date | null }>();
    if (!doc) return null;
    if (doc.deletedAt) return { kind: "tombstoned", deletedAt: doc.deletedAt };
    return { kind: "live", version: doc.clerkUpdatedAt?.getTime() ?? Number.NEGATIVE_INFINITY };
  }

  async function insertIfAbsent(doc: Record<string, unknown>): Promise<boolean> {
    try {
      await users.create(doc);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  /** Performs the decision's write; `false` when the document moved on since it was read. */
  async function write(userId: string, decision: SyncWrite): Promise<boolean> {
    switch (decision.kind) {
      case "insert":
        return insertIfAbsent({ _id: userId, ...decision.snapshot });
      case "insert-tombstone":
        return insertIfAbsent({ _id: userId, deletedAt: decision.deletedAt });
      case "update": {
        const expected = { _id: userId, deletedAt: null, clerkUpdatedAt: new Date(decision.expectedVersion) };
        const result = await users.updateOne(expected, { $set: decision.snapshot });
        return result.matchedCount === 1;
      }
      case "tombstone": {
        const result = await users.updateOne({ _id: userId, deletedAt: null }, { $set: { deletedAt: decision.deletedAt } });
        return result.matchedCount === 1;
      }
    }
  }

  return {
    async apply(event) {
      for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
        const decision = decide(await readState(event.userId), event);
        if (decision.kind === "skip") return { kind: "skipped", reason: decision.reason };
        if (await write(event.userId, decision)) return outcomeOf(decision);
      }
      throw new WriteConflictError(event.userId, maxAttempts);
    },
  };
}

function outcomeOf(decision: SyncWrite): SyncOutcome {
  switch (decision.kind) {
    case "insert":
      return { kind: "created" };
    case "update":
      return { kind: "updated" };
    case "tombstone":
    case "insert-tombstone":
      return { kind: "deleted" };
  }
}
