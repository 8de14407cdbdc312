import type { UserJSON } from "@clerk/backend";
import { clerkUserSchema } from "../clerk/user-payload.js";
import type { ClerkUserDirectory } from "../clerk/clerk-user-directory.js";
import { maxPageSize } from "../clerk/clerk-user-directory.js";
import type { OutboxPublisher } from "../events/outbox.js";
import type { Logger } from "../logger.js";
import { decide } from "../sync/decide.js";
import { toUserSnapshot } from "../sync/to-user-snapshot.js";
import type { StoredSyncState, SyncEvent, SyncOutcome } from "../sync/types.js";
import type { UserModel } from "../users/user-model.js";
import type { UserStore } from "../users/user-store.js";
import { addCounts, emptyCounts, type ReconcileCounts } from "./counts.js";
import type { RunCheckpoint, RunPhase, RunReports, RunState } from "./run-reports.js";
import { addToDigest, bucketCount, bucketOf, differingBuckets, digestTotal, emptyDigest, type SeenDigest } from "./seen-digest.js";

/**
 * Reconciliation against Clerk's user list, in chunks small enough to be one Inngest step
 * each and to keep memory flat. Every chunk starts from the run's checkpoint in its report
 * (lib/reconcile/run-reports.ts) and writes it after every batch of pages, so a crash, a
 * retried step or a resumed CLI run carries on after the last batch written.
 *
 * 1. Scan: page through Clerk's users (oldest first, the next pages fetched while the current
 *    batch is applied) and apply each batch of pages through the same sync rules as the
 *    webhooks. Most listed users are unchanged, so a batch first reads only the rules' state
 *    of its users (`_id`, `clerkUpdatedAt`, `deletedAt`: one `_id: {$in}` read) and decides on
 *    Clerk's `updated_at` alone; only the users the rules would write are parsed and mapped in
 *    full and handed to the store (which reads their whole documents, for their app events, and
 *    writes them in one bulk write). The users found live are added to the run's seen digest
 *    (lib/reconcile/seen-digest.ts).
 * 2. Sweep: one pass over our live users' ids builds the same digest; only the users of
 *    buckets that differ can be missing from Clerk's list. Those are looked up in Clerk (100
 *    a request) and one that Clerk does not return is tombstoned only after Clerk answers 404
 *    for its id (a user created or deleted during the scan shifts offset pages).
 * A run's mode (dry run, force) is read from its report, never from the caller.
 */

export interface ReconcileDeps {
  directory: ClerkUserDirectory;
  store: UserStore;
  users: UserModel;
  reports: RunReports;
  logger: Logger;
  /** Publishes the app events of the users a chunk changed (absent: left for the outbox sweep). */
  outbox?: OutboxPublisher;
  now?: () => Date;
}

/** The run a chunk works for, and who may write its checkpoint. */
export interface RunRef {
  id: string;
  owner: string;
}

export interface DriftItem {
  userId: string;
  change: "create" | "update" | "tombstone";
}

export interface ChunkResult {
  /** The phase the run is in after this chunk (`organizations`: the users are done). */
  phase: RunPhase;
  /** What this chunk did (the run's totals are in its report). */
  counts: ReconcileCounts;
  /** In a dry run, what would change. */
  drift: DriftItem[];
}

/**
 * The sync state of every stored user, read in one pass (`_id`, `clerkUpdatedAt`, `deletedAt`),
 * for a run done by one process (the CLI): the scan decides unchanged users from it with no read
 * a batch, and the sweep takes our live users from it with no second pass. A live user maps to
 * its version (Clerk's `updated_at`, ms), a tombstone to `false`. It is only a pre-filter: a
 * user it shows as changed goes through the store, which reads and decides again; one it shows
 * unchanged can only have moved forward since (states only move forward), which the rules would
 * skip too. The users the run creates or updates are written into it.
 */
export type KnownStates = Map<string, number | false>;

/** The one pass that fills `KnownStates` (at most this many users are held; beyond, the chunks read by batch). */
export const maxKnownStates = 250_000;

export async function readKnownStates(users: UserModel): Promise<KnownStates> {
  const known: KnownStates = new Map();
  const cursor = users.collection.find<StoredVersion>({}, { projection: { clerkUpdatedAt: 1, deletedAt: 1 }, batchSize: sweepBatchSize });
  for await (const doc of cursor) known.set(doc._id, doc.deletedAt ? false : (doc.clerkUpdatedAt?.getTime() ?? Number.NEGATIVE_INFINITY));
  return known;
}

export interface ChunkOptions {
  /** Pages of Clerk's list a scan chunk reads (an Inngest step's worth of work). */
  pagesPerChunk?: number;
  /**
   * Pages applied with one database read and one bulk write, then checkpointed. With `known`, a
   * batch is instead this many pages' worth of users to write (or the chunk's end): unchanged users
   * cost nothing to hold, so a run in sync writes one checkpoint a chunk, not one per few pages.
   */
  pagesPerBatch?: number;
  pageSize?: number;
  /** Buckets of the seen digest a sweep chunk compares (default: as many as keep ~250k ids in memory). */
  bucketsPerSweepChunk?: number;
  /** Our users' states, read once by the caller (`readKnownStates`): no state read a batch, no sweep pass. */
  known?: KnownStates;
}

/**
 * A batch of 4 pages (2,000 users) keeps a steady batch at 3 round trips (the state read, the
 * changed users' read and write, the checkpoint) and its parsed pages at a few megabytes (with
 * `known`: 2,000 users to write, whatever the pages); a chunk of 20 pages (10,000 users) is a few
 * seconds of work, well inside an Inngest step.
 */
const defaults = { pagesPerChunk: 20, pagesPerBatch: 4 } as const;
/**
 * Ids read back per round trip by the passes over our users (a few hundred kilobytes a batch):
 * 10,000 users in one reply, with no `getMore`.
 */
const sweepBatchSize = 20_000;
/** The app events of a scan chunk's changed users are published once they reach this many users, and at the chunk's end. */
const publishEvery = 2_000;
const idsPerSweepChunk = 250_000;
const maxIdsPerLookup = 100;

function tally(counts: ReconcileCounts, drift: DriftItem[], userId: string, outcome: SyncOutcome): void {
  switch (outcome.kind) {
    case "created":
      counts.created += 1;
      drift.push({ userId, change: "create" });
      return;
    case "updated":
      counts.updated += 1;
      drift.push({ userId, change: "update" });
      return;
    case "deleted":
      counts.tombstoned += 1;
      drift.push({ userId, change: "tombstone" });
      return;
    case "skipped":
      counts.unchanged += 1;
  }
}

/** Is the listed user stored live once its outcome is applied (in a dry run, nothing was written)? */
function liveAfter(outcome: SyncOutcome, dryRun: boolean): boolean {
  if (outcome.kind === "created") return !dryRun;
  if (outcome.kind === "deleted") return false;
  return outcome.kind === "updated" || outcome.reason !== "tombstoned";
}

/**
 * What the rules need of a listed user before deciding to write it: its id and version, read
 * without parsing the rest; `user` (the payload) is dropped once the user is known unchanged.
 */
interface ListedVersion {
  id: string;
  updatedAt: number;
  user: UserJSON | null;
}

function listedVersion(user: UserJSON): ListedVersion | null {
  const { id, updated_at: updatedAt } = (user ?? {}) as { id?: unknown; updated_at?: unknown };
  if (typeof id !== "string" || id.length === 0 || typeof updatedAt !== "number" || !Number.isSafeInteger(updatedAt) || updatedAt < 0) return null;
  return { id, updatedAt, user };
}

type StoredVersion = { _id: string; clerkUpdatedAt?: Date | null; deletedAt?: Date | null };

/** A tombstone's date does not matter to the rules deciding an upsert (a tombstone is final). */
const tombstone: StoredSyncState = { kind: "tombstoned", deletedAt: new Date(0) };

const knownState = (known: KnownStates, id: string): StoredSyncState | null => {
  const version = known.get(id);
  return version === undefined ? null : version === false ? tombstone : { kind: "live", version };
};

/** Would the rules skip this listed user, by our stored state in `known`? (The same decision the batch takes.) */
const isUnchanged = (known: KnownStates, { id, updatedAt }: ListedVersion, force: boolean): boolean =>
  decide(knownState(known, id), { kind: "upsert", snapshot: { clerkUpdatedAt: new Date(updatedAt) } }, { force }).kind === "skip";

/** The rules' state of these users (no other field): from `known`, or one `_id: {$in}` read. */
async function readStates(users: UserModel, ids: readonly string[], known: KnownStates | undefined): Promise<Map<string, StoredSyncState>> {
  const states = new Map<string, StoredSyncState>();
  if (known) {
    for (const id of ids) {
      const stored = knownState(known, id);
      if (stored) states.set(id, stored);
    }
    return states;
  }
  if (ids.length === 0) return states;
  // One more than can match: a first batch that is not full tells the server the cursor is done (no getMore round trip).
  const docs = users.collection.find<StoredVersion>({ _id: { $in: ids as string[] } } as never, { projection: { clerkUpdatedAt: 1, deletedAt: 1 }, batchSize: ids.length + 1 });
  for await (const doc of docs) {
    states.set(doc._id, doc.deletedAt ? tombstone : { kind: "live", version: doc.clerkUpdatedAt?.getTime() ?? Number.NEGATIVE_INFINITY });
  }
  return states;
}

function toUpsert(user: UserJSON, logger: Logger, runId: string): SyncEvent | null {
  const parsed = clerkUserSchema.safeParse(user);
  if (parsed.success) return { kind: "upsert", userId: parsed.data.id, snapshot: toUserSnapshot(parsed.data), origin: { source: "reconcile", sourceEventId: runId } };
  logger.warn({ userId: user?.id, issues: parsed.error.issues.length }, "reconcile: unusable user in Clerk's list");
  return null;
}

const changedUsers = (events: readonly SyncEvent[], outcomes: readonly SyncOutcome[]): string[] =>
  events.filter((_, index) => outcomes[index]?.kind !== "skipped").map((event) => event.userId);

async function publishChanges(deps: ReconcileDeps, events: readonly SyncEvent[], outcomes: readonly SyncOutcome[]): Promise<void> {
  const changed = changedUsers(events, outcomes);
  if (changed.length > 0) await deps.outbox?.publish(changed);
}

async function runState(deps: ReconcileDeps, run: RunRef): Promise<RunState> {
  const state = await deps.reports.state(run.id);
  if (!state) throw new Error(`reconciliation run ${run.id} has no report: start it first`);
  return state;
}

/** Clerk's list pages in flight at once: Clerk answers a page in tens of milliseconds, and the directory paces every request to the rate budget. */
const pagesInFlight = 3;

/**
 * Clerk's pages from `offset`, at most `maxPages`, requested ahead while earlier ones are
 * applied (Clerk's latency overlaps the database work): up to `pagesInFlight` of the pages
 * that Clerk's count at the run's start (`expectedTotal`) says exist, then one at a time while
 * pages keep coming back full (users created since). A short page ends the list, and pages
 * requested past it are dropped. A page is requested only within the chunk, so a resumed run
 * never asks for a page twice.
 */
function pagesFrom(directory: ClerkUserDirectory, offset: number, pageSize: number, maxPages: number, expectedTotal: number) {
  let requested = 0;
  let nextOffset = offset;
  const inFlight: Promise<UserJSON[]>[] = [];
  const request = () => {
    requested += 1;
    const page = directory.listPage(nextOffset, pageSize);
    nextOffset += pageSize;
    page.catch(() => {}); // awaited by next(); a page dropped when the list ends must not crash the process
    inFlight.push(page);
  };
  const topUp = () => {
    while (requested < maxPages && inFlight.length < pagesInFlight && (nextOffset < expectedTotal || inFlight.length === 0)) request();
  };
  return {
    async next(): Promise<UserJSON[]> {
      topUp();
      const page = await (inFlight.shift() as Promise<UserJSON[]>);
      if (page.length < pageSize) inFlight.length = 0;
      else topUp();
      return page;
    },
  };
}

/** Scan: up to `pagesPerChunk` pages of Clerk's list from the run's checkpoint. */
export async function scanChunk(deps: ReconcileDeps, run: RunRef, options: ChunkOptions = {}): Promise<ChunkResult> {
  const state = await runState(deps, run);
  const counts = emptyCounts();
  const drift: DriftItem[] = [];
  if (state.phase !== "scan") return { phase: state.phase, counts, drift };
  const pageSize = options.pageSize ?? maxPageSize;
  const pagesPerChunk = options.pagesPerChunk ?? defaults.pagesPerChunk;
  const pagesPerBatch = options.pagesPerBatch ?? defaults.pagesPerBatch;
  const { dryRun } = state;
  const batchOptions = { dryRun, force: state.force };
  let checkpoint: RunCheckpoint = state;
  const pages = pagesFrom(deps.directory, state.offset, pageSize, pagesPerChunk, state.total ?? 0);
  // The app events of the users this chunk changed, published in groups (not a round trip a batch).
  let unpublished: string[] = [];
  const publish = async () => {
    if (unpublished.length > 0) await deps.outbox?.publish(unpublished);
    unpublished = [];
  };

  for (let pagesRead = 0; pagesRead < pagesPerChunk && checkpoint.phase === "scan"; ) {
    const batch = emptyCounts();
    // A user listed twice (a deletion shifted the pages under us) is applied once.
    const listed = new Map<string, ListedVersion>();
    let toWrite = 0;
    let ended = false;
    // Without `known` the batch's state read is one `_id: {$in}` of its listed users, so it is bounded by pages.
    const batchFull = (inBatch: number) => (options.known ? toWrite >= pagesPerBatch * pageSize : inBatch >= pagesPerBatch);
    for (let inBatch = 0; !batchFull(inBatch) && pagesRead < pagesPerChunk && !ended; inBatch += 1, pagesRead += 1) {
      const page = await pages.next();
      batch.scanned += page.length;
      ended = page.length < pageSize;
      for (const user of page) {
        const version = listedVersion(user);
        if (!version) {
          batch.failed += 1;
          deps.logger.warn({ userId: (user as { id?: unknown } | null)?.id }, "reconcile: unusable user in Clerk's list");
        } else if (options.known && isUnchanged(options.known, version, state.force)) {
          // Settled as its page arrives: its payload is not kept while the batch fills (steady state: most users).
          listed.set(version.id, { ...version, user: null });
        } else {
          listed.set(version.id, version);
          toWrite += 1;
        }
      }
    }
    const seen: SeenDigest = { counts: [...checkpoint.seen.counts], hashSums: [...checkpoint.seen.hashSums] };
    const states = await readStates(deps.users, [...listed.keys()], options.known);
    // The rules on the version alone: an unchanged user is settled here, unparsed; the others are parsed and applied.
    const events: SyncEvent[] = [];
    for (const { id, updatedAt, user } of listed.values()) {
      const decision = decide(states.get(id) ?? null, { kind: "upsert", snapshot: { clerkUpdatedAt: new Date(updatedAt) } }, { force: state.force });
      if (decision.kind === "skip") {
        tally(batch, drift, id, { kind: "skipped", reason: decision.reason });
        if (decision.reason !== "tombstoned") addToDigest(seen, id);
        continue;
      }
      const event = user && toUpsert(user, deps.logger, run.id);
      if (event) events.push(event);
      else batch.failed += 1;
    }
    const outcomes = events.length > 0 ? await deps.store.applyBatch(events, batchOptions) : [];
    events.forEach((event, index) => {
      const outcome = outcomes[index] as SyncOutcome;
      tally(batch, drift, event.userId, outcome);
      if (liveAfter(outcome, dryRun)) addToDigest(seen, event.userId);
      if (!dryRun && event.kind === "upsert" && (outcome.kind === "created" || outcome.kind === "updated")) options.known?.set(event.userId, event.snapshot.clerkUpdatedAt.getTime());
    });
    if (!dryRun) unpublished.push(...changedUsers(events, outcomes));
    // Published every `publishEvery` changed users and at the chunk's end, before that batch's checkpoint;
    // a crash in between leaves them in the outboxes, for the outbox sweep (publish-pending-app-events).
    if (unpublished.length >= publishEvery || ended || pagesRead >= pagesPerChunk) await publish();
    const next: RunCheckpoint = {
      phase: ended ? "sweep" : "scan",
      offset: checkpoint.offset + batch.scanned,
      bucket: 0,
      counts: addCounts({ ...checkpoint.counts }, batch),
      seen,
    };
    await deps.reports.checkpoint(run.id, run.owner, checkpoint, next);
    addCounts(counts, batch);
    checkpoint = next;
  }
  return { phase: checkpoint.phase, counts, drift };
}

/**
 * Sweep: compares the seen digest with our live users, bucket range by bucket range (one
 * pass over our users' ids a chunk), and settles the users of the buckets that differ with Clerk.
 */
export async function sweepChunk(deps: ReconcileDeps, run: RunRef, options: ChunkOptions = {}): Promise<ChunkResult> {
  const state = await runState(deps, run);
  const counts = emptyCounts();
  const drift: DriftItem[] = [];
  if (state.phase !== "sweep") return { phase: state.phase, counts, drift };
  // With our users' states in memory there is nothing to bound: one chunk does every bucket.
  const span = options.known ? bucketCount : (options.bucketsPerSweepChunk ?? Math.ceil(bucketCount / Math.max(1, Math.ceil(digestTotal(state.seen) / idsPerSweepChunk))));
  const from = state.bucket;
  const to = Math.min(bucketCount, from + span);

  // One pass over our live users (or over `known`); only the ids of this chunk's buckets are kept.
  const stored = emptyDigest();
  const idsByBucket = new Map<number, string[]>();
  const take = (id: string) => {
    const bucket = bucketOf(id);
    if (bucket < from || bucket >= to) return;
    addToDigest(stored, id);
    const ids = idsByBucket.get(bucket);
    if (ids) ids.push(id);
    else idsByBucket.set(bucket, [id]);
  };
  if (options.known) {
    for (const [id, version] of options.known) if (version !== false) take(id);
  } else {
    const cursor = deps.users.collection.find<{ _id: string }>({ deletedAt: null }, { projection: { _id: 1 }, batchSize: sweepBatchSize });
    for await (const { _id: id } of cursor) take(id);
  }
  const candidates = differingBuckets(state.seen, stored, from, to).flatMap((bucket) => idsByBucket.get(bucket) ?? []);
  idsByBucket.clear();

  for (let start = 0; start < candidates.length; start += maxIdsPerLookup) {
    addCounts(counts, await settleCandidates(deps, run, state.dryRun, candidates.slice(start, start + maxIdsPerLookup), drift));
  }
  const next: RunCheckpoint = { ...state, phase: to >= bucketCount ? "organizations" : "sweep", bucket: to, counts: addCounts({ ...state.counts }, counts) };
  await deps.reports.checkpoint(run.id, run.owner, state, next);
  return { phase: next.phase, counts, drift };
}

/** Stored live users the scan may not have seen: those Clerk lists exist; the others are confirmed one by one. */
async function settleCandidates(deps: ReconcileDeps, run: RunRef, dryRun: boolean, group: string[], drift: DriftItem[]): Promise<ReconcileCounts> {
  const counts = emptyCounts();
  const existing = new Set((await deps.directory.findExisting(group)).map((user) => user.id));
  const events: SyncEvent[] = [];
  for (const candidate of group.filter((id) => !existing.has(id))) {
    try {
      const confirmed = await deps.directory.getUser(candidate);
      const event: SyncEvent | null = confirmed
        ? toUpsert(confirmed, deps.logger, run.id)
        : { kind: "delete", userId: candidate, deletedAt: deps.now?.() ?? new Date(), origin: { source: "reconcile", sourceEventId: run.id } };
      if (event) events.push(event);
      else counts.failed += 1;
    } catch (error) {
      counts.failed += 1;
      deps.logger.error({ err: error, userId: candidate }, "reconcile: could not confirm a tombstone candidate");
    }
  }
  if (events.length === 0) return counts;
  const outcomes = await deps.store.applyBatch(events, { dryRun });
  events.forEach((event, index) => tally(counts, drift, event.userId, outcomes[index] as SyncOutcome));
  if (!dryRun) await publishChanges(deps, events, outcomes);
  return counts;
}
