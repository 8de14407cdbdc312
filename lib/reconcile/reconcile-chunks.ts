import type { UserJSON } from "@clerk/backend";
import { clerkUserSchema } from "../clerk/user-payload.js";
import type { ClerkUserDirectory } from "../clerk/clerk-user-directory.js";
import { maxPageSize } from "../clerk/clerk-user-directory.js";
import type { OutboxPublisher } from "../events/outbox.js";
import type { Logger } from "../logger.js";
import { toUserSnapshot } from "../sync/to-user-snapshot.js";
import type { SyncEvent, SyncOutcome } from "../sync/types.js";
import type { UserDocument, UserModel } from "../users/user-model.js";
import type { UserStore } from "../users/user-store.js";
import { emptyCounts, type ReconcileCounts } from "./counts.js";

/**
 * Reconciliation against Clerk's user list, in chunks small enough to be one Inngest
 * step each (a crash resumes at the failed chunk) and to keep memory flat: a chunk holds
 * at most a few pages of users, never the whole list.
 *
 * 1. Scan: page through Clerk's users (oldest first) and apply each page through the
 *    same sync rules as the webhooks, with one read and one bulk write per page.
 * 2. Sweep: page through our live users and ask Clerk which of them still exist. An
 *    absent user is only a candidate (a user created or deleted during the scan shifts
 *    offset pages); it is tombstoned only after Clerk answers 404 for its id.
 */

export interface ReconcileDeps {
  directory: ClerkUserDirectory;
  store: UserStore;
  users: UserModel;
  logger: Logger;
  /** Publishes the app events of the users a chunk changed (absent: left for the outbox sweep). */
  outbox?: OutboxPublisher;
  now?: () => Date;
}

async function publishChanges(deps: ReconcileDeps, events: readonly SyncEvent[], outcomes: readonly SyncOutcome[]): Promise<void> {
  const changed = events.filter((_, index) => outcomes[index]?.kind !== "skipped").map((event) => event.userId);
  if (changed.length > 0) await deps.outbox?.publish(changed);
}

export interface DriftItem {
  userId: string;
  change: "create" | "update" | "tombstone";
}

export interface ChunkResult<Cursor> {
  counts: ReconcileCounts;
  /** Where the next chunk starts; `null` when this phase is done. */
  next: Cursor | null;
  /** In a dry run, what would change. */
  drift: DriftItem[];
}

export interface ChunkOptions {
  dryRun?: boolean;
  /** The run these changes belong to (app events and the audit trail name it). */
  runId?: string;
  pagesPerChunk?: number;
  pageSize?: number;
}

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

function toUpsert(user: UserJSON, logger: Logger, runId?: string): SyncEvent | null {
  const parsed = clerkUserSchema.safeParse(user);
  const origin = { source: "reconcile", sourceEventId: runId ?? null } as const;
  if (parsed.success) return { kind: "upsert", userId: parsed.data.id, snapshot: toUserSnapshot(parsed.data), origin };
  logger.warn({ userId: user?.id, issues: parsed.error.issues.length }, "reconcile: unusable user in Clerk's list");
  return null;
}

/** Scan: up to `pagesPerChunk` pages of Clerk's list from `offset`. */
export async function scanChunk(deps: ReconcileDeps, offset: number, options: ChunkOptions = {}): Promise<ChunkResult<number>> {
  const pageSize = options.pageSize ?? maxPageSize;
  const counts = emptyCounts();
  const drift: DriftItem[] = [];
  let position = offset;
  for (let page = 0; page < (options.pagesPerChunk ?? 5); page += 1) {
    const users = await deps.directory.listPage(position, pageSize);
    counts.scanned += users.length;
    position += users.length;
    const valid = users.flatMap((user) => toUpsert(user, deps.logger, options.runId) ?? []);
    counts.failed += users.length - valid.length;
    // A user listed twice (a deletion shifted the pages under us) is applied once.
    const events = [...new Map(valid.map((event) => [event.userId, event])).values()];
    const outcomes = await deps.store.applyBatch(events, { dryRun: options.dryRun });
    events.forEach((event, index) => tally(counts, drift, event.userId, outcomes[index] as SyncOutcome));
    if (!options.dryRun) await publishChanges(deps, events, outcomes);
    if (users.length < pageSize) return { counts, next: null, drift };
  }
  return { counts, next: position, drift };
}

/** Sweep: up to `pagesPerChunk` × 100 of our live users after `afterId`, checked against Clerk. */
export async function sweepChunk(deps: ReconcileDeps, afterId: string | null, options: ChunkOptions = {}): Promise<ChunkResult<string>> {
  const counts = emptyCounts();
  const drift: DriftItem[] = [];
  const batch = 100;
  const limit = batch * (options.pagesPerChunk ?? 5);
  const live = await deps.users
    .find({ deletedAt: null, ...(afterId && { _id: { $gt: afterId } }) }, { _id: 1 })
    .sort({ _id: 1 })
    .limit(limit)
    .batchSize(limit)
    .lean<Pick<UserDocument, "_id">[]>();
  const ids = live.map((doc) => doc._id);

  for (let start = 0; start < ids.length; start += batch) {
    const group = ids.slice(start, start + batch);
    const existing = new Set((await deps.directory.findExisting(group)).map((user) => user.id));
    for (const candidate of group.filter((id) => !existing.has(id))) {
      try {
        const confirmed = await deps.directory.getUser(candidate);
        const event: SyncEvent | null = confirmed
          ? toUpsert(confirmed, deps.logger, options.runId)
          : { kind: "delete", userId: candidate, deletedAt: deps.now?.() ?? new Date(), origin: { source: "reconcile", sourceEventId: options.runId ?? null } };
        if (!event) {
          counts.failed += 1;
          continue;
        }
        const outcomes = await deps.store.applyBatch([event], { dryRun: options.dryRun });
        tally(counts, drift, candidate, outcomes[0] as SyncOutcome);
        if (!options.dryRun) await publishChanges(deps, [event], outcomes);
      } catch (error) {
        counts.failed += 1;
        deps.logger.error({ err: error, userId: candidate }, "reconcile: could not confirm a tombstone candidate");
      }
    }
  }
  return { counts, next: ids.length === limit ? (ids.at(-1) ?? null) : null, drift };
}
