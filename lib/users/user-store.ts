import { isDuplicateKeyError } from "../db/errors.js";
import { coalesce } from "../sync/coalesce.js";
import { decide } from "../sync/decide.js";
import { appEventFor } from "../sync/app-event-for.js";
import type { StoredSyncState, SyncEvent, SyncOrigin, SyncOutcome, SyncWrite, UserSnapshot } from "../sync/types.js";
import type { AnyBulkWriteOperation } from "mongoose";
import type { UserDocument, UserModel } from "./user-model.js";

/** Raised when other writers keep changing a user between our read and our write. Retryable. */
class WriteConflictError extends Error {
  override readonly name = "WriteConflictError";
  constructor(readonly userId: string, attempts: number) {
    super(`user ${userId} changed under ${attempts} consecutive writes; giving up for this attempt`);
  }
}

/**
 * A write misses only when another writer advanced the user meanwhile (inserted it, stored a
 * newer Clerk version, or tombstoned it), and states only move forward: an `apply` misses at
 * most once per concurrent newer version, plus the insert race and a tombstone, then decides
 * `skip` or wins. The bound is a guard against a bug, not a contention policy: 5 was too low
 * for six versions of one user racing (seen on FerretDB, possible on MongoDB), where the
 * newest event can lose its insert and then four compare-and-sets before it applies.
 */
const maxAttempts = 20;

export interface UserStore {
  /** Applies one Clerk change through the sync rules; safe to call concurrently and repeatedly. */
  apply(event: SyncEvent): Promise<SyncOutcome>;
  /**
   * Applies many changes (one per user) in two round trips: one read of every user, one
   * `bulkWrite` of only what changes. Same rules, same compare-and-set guards; users
   * that raced another writer are read, decided and written again, together. `dryRun` decides
   * without writing.
   */
  applyBatch(events: readonly SyncEvent[], options?: BatchOptions): Promise<SyncOutcome[]>;
  /**
   * Applies a batch as Inngest delivers one (any order, several events of one user, duplicates):
   * folded to one event per user (`coalesce`), then one event by `apply` or many by `applyBatch`.
   * Every event's decision is audited, the folded-away ones too. Outcomes in the events' order.
   */
  applyEvents(events: readonly SyncEvent[]): Promise<SyncOutcome[]>;
}

export interface BatchOptions {
  /** Decide without writing (reconciliation's dry run). */
  dryRun?: boolean;
  /**
   * Rewrite live users from these snapshots even when their version is already stored (a forced
   * re-derive after a mapping fix; `decide`'s `force`). Tombstones stay final.
   */
  force?: boolean;
  /**
   * Also audit the events that change nothing (duplicates, stale, tombstoned): the webhook path
   * does (its freshness is read from the audit trail); reconciliation, which would write a
   * record per unchanged user per run, does not.
   */
  auditUnchanged?: boolean;
}

/**
 * Applies sync decisions to MongoDB. Each decision becomes one conditional write that
 * only succeeds if the document is still in the state the decision was made from
 * (compare-and-set). If a concurrent writer got there first, the write misses, and we
 * read again and re-decide: the rules, not the timing, pick the winner.
 */
export interface UserStoreOptions {
  audit?: AuditSink;
  /**
   * Runs after every deletion event is applied, whatever its outcome (a duplicate too): what
   * a deleted user ends elsewhere (their memberships). It must be idempotent; running it on
   * duplicates is what lets a retry finish a cascade a crash interrupted.
   */
  onDeleted?: (userId: string, deletedAt: Date, origin: SyncEvent["origin"]) => Promise<unknown>;
}

export function createUserStore(users: UserModel, { audit, onDeleted }: UserStoreOptions = {}): UserStore {
  async function read(userId: string): Promise<StoredUser | null> {
    return users.findById(userId, withoutOutbox).lean<StoredUser>();
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

  /**
   * Performs the decision's write, with the app event it produces appended to the user's
   * outbox in the same write; `false` when the document moved on since it was read.
   */
  async function write(event: SyncEvent, decision: SyncWrite, previous: StoredUser | null): Promise<boolean> {
    const operation = writeOperation(event, decision, previous);
    if ("insertOne" in operation) return insertIfAbsent(operation.insertOne.document);
    const result = await users.updateOne(operation.updateOne.filter, operation.updateOne.update);
    return result.matchedCount === 1;
  }

  async function apply(event: SyncEvent): Promise<SyncOutcome> {
    const outcome = (await writeFirst(event)) ?? (await decideAndWrite(event));
    if (event.kind === "delete") await onDeleted?.(event.userId, event.deletedAt, event.origin);
    return outcome;
  }

  /**
   * The common case of an event in one round trip, with no read: a user's first version
   * (Clerk's `created_at` equals its `updated_at`) inserted, a live user tombstoned. Each write
   * is guarded like any other (the `_id` index, `deletedAt: null`), and neither's app event
   * depends on the stored state; a miss (`null`) falls back to reading and deciding.
   */
  async function writeFirst(event: SyncEvent): Promise<SyncOutcome | null> {
    const likely = likelyDecision(event);
    if (!likely || !(await write(event, likely, null))) return null;
    const outcome = outcomeOf(likely);
    await audit?.record([auditEntry(event, outcome)]);
    return outcome;
  }

  async function decideAndWrite(event: SyncEvent): Promise<SyncOutcome> {
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const previous = await read(event.userId);
      const decision = decide(previous ? stateOf(previous) : null, event);
      if (decision.kind === "skip") {
        const outcome = { kind: "skipped", reason: decision.reason } as const;
        await audit?.record([auditEntry(event, outcome)]);
        return outcome;
      }
      if (await write(event, decision, previous)) {
        const outcome = outcomeOf(decision);
        await audit?.record([auditEntry(event, outcome)]);
        return outcome;
      }
    }
    throw new WriteConflictError(event.userId, maxAttempts);
  }

  async function applyBatch(events: readonly SyncEvent[], options: BatchOptions = {}): Promise<SyncOutcome[]> {
    const ids = events.map((event) => event.userId);
    if (new Set(ids).size !== ids.length) throw new TypeError("applyBatch takes at most one event per user");
    return settleBatch(events, options, 1);
  }

  /**
   * One round of a batch: read, decide, write. The users another writer moved on meanwhile
   * (a batch racing this one) are settled by another round of only those, so contention costs
   * a few more bulk round trips, not three round trips a user.
   */
  async function settleBatch(events: readonly SyncEvent[], options: BatchOptions, round: number): Promise<SyncOutcome[]> {
    const ids = events.map((event) => event.userId);
    // One batch, one more than can match: a first batch of exactly the limit still sends a getMore to learn it is done.
    const docs = await users.find({ _id: { $in: ids } }, withoutOutbox).batchSize(ids.length + 1).lean<StoredUser[]>();
    const previous = new Map(docs.map((doc) => [doc._id, doc]));
    const decisions = events.map((event) => {
      const doc = previous.get(event.userId);
      return decide(doc ? stateOf(doc) : null, event, { force: options.force });
    });
    const outcomes = decisions.map((decision) => (decision.kind === "skip" ? ({ kind: "skipped", reason: decision.reason } as const) : outcomeOf(decision)));
    const pending = decisions.flatMap((decision, index) => (decision.kind === "skip" ? [] : [{ index, decision }]));
    if (options.dryRun) return outcomes;
    if (options.auditUnchanged) {
      await audit?.record(decisions.flatMap((decision, index) => (decision.kind === "skip" ? [auditEntry(events[index] as SyncEvent, outcomes[index] as SyncOutcome)] : [])));
    }
    if (pending.length === 0) {
      await cascadeDeletions(events, new Set());
      return outcomes;
    }

    // Inserts first, then updates: the driver sends each run of one kind as one command.
    const writes = pending
      .map(({ index, decision }) => ({ index, decision, event: events[index] as SyncEvent }))
      .sort((a, b) => Number(isInsert(b.decision)) - Number(isInsert(a.decision)));
    const landed = await bulkWriteAll(writes, previous);
    const raced = writes.filter((write) => !landed.has(write)).map(({ index }) => index);
    await audit?.record(writes.filter((write) => landed.has(write)).map(({ index, event }) => auditEntry(event, outcomes[index] as SyncOutcome)));
    if (raced.length > 0) {
      if (round >= maxAttempts) throw new WriteConflictError(events[raced[0] as number]?.userId ?? "", maxAttempts);
      const settled = await settleBatch(raced.map((index) => events[index] as SyncEvent), options, round + 1);
      raced.forEach((index, k) => (outcomes[index] = settled[k] as SyncOutcome));
    }
    await cascadeDeletions(events, new Set(raced));
    return outcomes;
  }

  /**
   * One unordered bulk write of the batch's guarded writes; the writes that landed. When a
   * guard missed or an insert met a duplicate (another writer moved a user on since the read),
   * one more read tells which writes landed: those whose document holds what they wrote. Only
   * the others need settling again (an unordered bulk write on FerretDB stops at its first error,
   * MongoDB's goes on: the read answers for both).
   */
  async function bulkWriteAll<Write extends { decision: SyncWrite; event: SyncEvent }>(writes: readonly Write[], previous: ReadonlyMap<string, StoredUser>): Promise<Set<Write>> {
    try {
      // Through the driver: Mongoose's bulkWrite builds a document per insert (about 70 MB for 2,000),
      // so the timestamps Mongoose would add are set here.
      const at = new Date();
      const result = await users.collection.bulkWrite(
        writes.map(({ event, decision }) => withTimestamps(writeOperation(event, decision, previous.get(event.userId) ?? null), at)) as never,
        { ordered: false },
      );
      if (result.insertedCount + result.matchedCount === writes.length) return new Set(writes);
    } catch (error) {
      if (!onlyDuplicateKeys(error)) throw error;
    }
    const ids = writes.map(({ event }) => event.userId);
    const after = await users.find({ _id: { $in: ids } }, { clerkUpdatedAt: 1, deletedAt: 1 }).batchSize(ids.length + 1).lean<StoredUser[]>();
    const now = new Map(after.map((doc) => [doc._id, doc]));
    return new Set(writes.filter(({ event, decision }) => holds(now.get(event.userId), decision)));
  }

  /** The `onDeleted` hook for a batch's deletions (those settled by `apply` ran it already). */
  async function cascadeDeletions(events: readonly SyncEvent[], alreadyRun: ReadonlySet<number>): Promise<void> {
    if (!onDeleted) return;
    for (const [index, event] of events.entries()) {
      if (event.kind === "delete" && !alreadyRun.has(index)) await onDeleted(event.userId, event.deletedAt, event.origin);
    }
  }

  async function applyEvents(events: readonly SyncEvent[]): Promise<SyncOutcome[]> {
    const { winners, winnerIndexes, superseded } = coalesce(events);
    const applied = winners.length === 1 ? [await apply(winners[0] as SyncEvent)] : await applyBatch(winners, { auditUnchanged: true });
    const outcomes: SyncOutcome[] = new Array(events.length);
    winnerIndexes.forEach((eventIndex, k) => (outcomes[eventIndex] = applied[k] as SyncOutcome));
    for (const { index, reason } of superseded) outcomes[index] = { kind: "skipped", reason };
    await audit?.record(superseded.map(({ index }) => auditEntry(events[index] as SyncEvent, outcomes[index] as SyncOutcome)));
    return outcomes;
  }

  return { apply, applyBatch, applyEvents };
}

/** What the schema's `timestamps` adds when a write goes through Mongoose, for a write that goes around it. */
function withTimestamps(operation: WriteOperation, at: Date): WriteOperation {
  if ("insertOne" in operation) return { insertOne: { document: { ...operation.insertOne.document, createdAt: at, updatedAt: at } } };
  const { filter, update } = operation.updateOne;
  const set = (update.$set ?? {}) as Record<string, unknown>;
  return { updateOne: { filter, update: { ...update, $set: { ...set, updatedAt: at } } } };
}

const isInsert = (decision: SyncWrite) => decision.kind === "insert" || decision.kind === "insert-tombstone";

/** A bulk write's error that is only duplicate keys (inserts that lost a race), nothing else. */
function onlyDuplicateKeys(error: unknown): boolean {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  if (!Array.isArray(writeErrors) || writeErrors.length === 0) return isDuplicateKeyError(error);
  return writeErrors.every((writeError) => isDuplicateKeyError(writeError));
}

/** Does the stored document hold what this write wrote? */
function holds(doc: Pick<StoredUser, "clerkUpdatedAt" | "deletedAt"> | undefined, decision: SyncWrite): boolean {
  if (!doc) return false;
  if (decision.kind === "tombstone" || decision.kind === "insert-tombstone") return doc.deletedAt?.getTime() === decision.deletedAt.getTime();
  return !doc.deletedAt && doc.clerkUpdatedAt?.getTime() === decision.snapshot.clerkUpdatedAt.getTime();
}

/** The decision most events of their kind get, tried by `writeFirst` before any read. */
function likelyDecision(event: SyncEvent): SyncWrite | null {
  if (event.kind === "delete") return { kind: "tombstone", deletedAt: event.deletedAt };
  const { clerkCreatedAt, clerkUpdatedAt } = event.snapshot;
  return clerkCreatedAt.getTime() === clerkUpdatedAt.getTime() ? { kind: "insert", snapshot: event.snapshot } : null;
}

type StoredUser = Partial<Omit<UserDocument, "outbox">> & { _id: string; clerkUpdatedAt?: Date | null; deletedAt?: Date | null };
const withoutOutbox = { outbox: 0 } as const;

function stateOf(doc: StoredUser): StoredSyncState {
  if (doc.deletedAt) return { kind: "tombstoned", deletedAt: doc.deletedAt };
  return { kind: "live", version: doc.clerkUpdatedAt?.getTime() ?? Number.NEGATIVE_INFINITY };
}

type WriteOperation =
  | { insertOne: { document: Record<string, unknown> } }
  | { updateOne: { filter: Record<string, unknown>; update: Record<string, unknown> } };

/**
 * A decision as one write: the compare-and-set guard (insert relies on the `_id` index,
 * updates match the state the decision was made from) and the app event, if any, pushed
 * onto the outbox in the same write.
 */
function writeOperation(event: SyncEvent, decision: SyncWrite, previous: StoredUser | null): WriteOperation & AnyBulkWriteOperation<UserDocument> {
  const { userId } = event;
  const appEvent = appEventFor(userId, decision, previous as Partial<UserSnapshot> | null, event.origin);
  const push = appEvent ? { $push: { outbox: appEvent } } : {};
  switch (decision.kind) {
    case "insert":
      return { insertOne: { document: { _id: userId, ...decision.snapshot, ...(appEvent && { outbox: [appEvent] }) } as UserDocument } };
    case "insert-tombstone":
      return { insertOne: { document: { _id: userId, deletedAt: decision.deletedAt } as UserDocument } };
    case "update":
      return {
        updateOne: {
          filter: { _id: userId, deletedAt: null, clerkUpdatedAt: new Date(decision.expectedVersion) },
          update: { $set: decision.snapshot, ...push },
        },
      };
    case "tombstone":
      return { updateOne: { filter: { _id: userId, deletedAt: null }, update: { $set: { deletedAt: decision.deletedAt }, ...push } } };
  }
}

/** What the audit trail needs from one sync decision. */
export interface AuditEntry {
  userId: string;
  source: SyncOrigin["source"];
  sourceEventId: string | null;
  decision: "applied" | "duplicate" | "stale" | "tombstoned";
  change: "created" | "updated" | "deleted" | null;
}

export interface AuditSink {
  record(entries: AuditEntry[]): Promise<void>;
}

function auditEntry(event: SyncEvent, outcome: SyncOutcome): AuditEntry {
  const origin = event.origin ?? { source: "webhook", sourceEventId: null };
  return {
    userId: event.userId,
    source: origin.source,
    sourceEventId: origin.sourceEventId,
    decision: outcome.kind === "skipped" ? outcome.reason : "applied",
    change: outcome.kind === "skipped" ? null : outcome.kind,
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
