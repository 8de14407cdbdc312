import { isDuplicateKeyError } from "../db/errors.js";
import { decide } from "../sync/decide.js";
import type { StoredSyncState, SyncEvent, SyncOutcome, SyncWrite } from "../sync/types.js";
import type { AnyBulkWriteOperation } from "mongoose";
import type { UserDocument, UserModel } from "./user-model.js";

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
  /**
   * Applies many changes (one per user) in two round trips: one read of every user, one
   * `bulkWrite` of only what changes. Same rules, same compare-and-set guards; users
   * that raced another writer are settled one by one. `dryRun` decides without writing.
   */
  applyBatch(events: readonly SyncEvent[], options?: { dryRun?: boolean }): Promise<SyncOutcome[]>;
}

/**
 * Applies sync decisions to MongoDB. Each decision becomes one conditional write that
 * only succeeds if the document is still in the state the decision was made from
 * (compare-and-set). If a concurrent writer got there first, the write misses, and we
 * read again and re-decide: the rules, not the timing, pick the winner.
 */
export function createUserStore(users: UserModel): UserStore {
  async function readState(userId: string): Promise<StoredSyncState | null> {
    const doc = await users.findById(userId, syncFields).lean<SyncFields>();
    return doc ? stateOf(doc) : null;
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

  async function apply(event: SyncEvent): Promise<SyncOutcome> {
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const decision = decide(await readState(event.userId), event);
      if (decision.kind === "skip") return { kind: "skipped", reason: decision.reason };
      if (await write(event.userId, decision)) return outcomeOf(decision);
    }
    throw new WriteConflictError(event.userId, maxAttempts);
  }

  async function applyBatch(events: readonly SyncEvent[], options: { dryRun?: boolean } = {}): Promise<SyncOutcome[]> {
    const ids = events.map((event) => event.userId);
    if (new Set(ids).size !== ids.length) throw new TypeError("applyBatch takes at most one event per user");
    const docs = await users.find({ _id: { $in: ids } }, syncFields).lean<(SyncFields & { _id: string })[]>();
    const states = new Map(docs.map((doc) => [doc._id, stateOf(doc)]));
    const decisions = events.map((event) => decide(states.get(event.userId) ?? null, event));
    const outcomes = decisions.map((decision) => (decision.kind === "skip" ? ({ kind: "skipped", reason: decision.reason } as const) : outcomeOf(decision)));
    const pending = decisions.flatMap((decision, index) => (decision.kind === "skip" ? [] : [{ index, decision }]));
    if (options.dryRun || pending.length === 0) return outcomes;

    const operations = pending.map(({ index, decision }) => bulkOperation(ids[index] as string, decision));
    let settledUpTo = pending.length;
    try {
      const result = await users.bulkWrite(operations, { ordered: true });
      if (result.insertedCount + result.matchedCount === pending.length) return outcomes;
      settledUpTo = 0; // a guard missed somewhere: we cannot tell which, so settle them all
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const failedAt = (error as { writeErrors?: { index?: number }[] }).writeErrors?.[0]?.index;
      settledUpTo = typeof failedAt === "number" ? failedAt : 0;
    }
    for (const { index } of pending.slice(settledUpTo)) {
      outcomes[index] = await apply(events[index] as SyncEvent);
    }
    return outcomes;
  }

  return { apply, applyBatch };
}

type SyncFields = { clerkUpdatedAt?: Date | null; deletedAt?: Date | null };
const syncFields = { clerkUpdatedAt: 1, deletedAt: 1 } as const;

function stateOf(doc: SyncFields): StoredSyncState {
  if (doc.deletedAt) return { kind: "tombstoned", deletedAt: doc.deletedAt };
  return { kind: "live", version: doc.clerkUpdatedAt?.getTime() ?? Number.NEGATIVE_INFINITY };
}

/** The same compare-and-set guards as the single writes, as bulkWrite operations. */
function bulkOperation(userId: string, decision: SyncWrite): AnyBulkWriteOperation<UserDocument> {
  switch (decision.kind) {
    case "insert":
      return { insertOne: { document: { _id: userId, ...decision.snapshot } as UserDocument } };
    case "insert-tombstone":
      return { insertOne: { document: { _id: userId, deletedAt: decision.deletedAt } as UserDocument } };
    case "update":
      return {
        updateOne: {
          filter: { _id: userId, deletedAt: null, clerkUpdatedAt: new Date(decision.expectedVersion) },
          update: { $set: decision.snapshot },
        },
      };
    case "tombstone":
      return { updateOne: { filter: { _id: userId, deletedAt: null }, update: { $set: { deletedAt: decision.deletedAt } } } };
  }
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
