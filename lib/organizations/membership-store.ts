import type { AuditLog } from "../audit/audit-log.js";
import { isDuplicateKeyError } from "../db/errors.js";
import { decideMembership, type MembershipDecision, type MembershipSkipReason, type StoredMembershipState } from "../sync/decide-membership.js";
import { membershipAppEventFor, type MembershipEndReason, type MembershipEventState } from "../sync/organization-app-events.js";
import type { MembershipSnapshot } from "../sync/to-organization-snapshot.js";
import type { SyncOrigin } from "../sync/types.js";
import type { UserModel } from "../users/user-model.js";
import { membershipKey } from "./membership-key.js";
import type { MembershipDocument, MembershipModel } from "./membership-model.js";
import type { OrganizationModel } from "./organization-model.js";

/** A membership change as Clerk reported it (`delete`: the member was removed at `at`). */
export type MembershipEvent = { kind: "upsert" | "delete"; snapshot: MembershipSnapshot; at: Date } & { origin?: SyncOrigin };

export type MembershipOutcome = { kind: "created" | "updated" | "removed" } | { kind: "skipped"; reason: MembershipSkipReason };

export interface MembershipStore {
  apply(event: MembershipEvent): Promise<MembershipOutcome>;
  /** Ends every live membership of a deleted organization (idempotent). */
  endForOrganization(organizationId: string, at: Date, origin?: SyncOrigin): Promise<number>;
  /** Ends every live membership of a deleted user (idempotent). */
  endForUser(userId: string, at: Date, origin?: SyncOrigin): Promise<number>;
}

const maxAttempts = 20;

/**
 * Applies membership events with lib/sync/decide-membership.ts: one conditional write per
 * event against the membership it read (compare-and-set on the Clerk membership id, version
 * and removal), with its app event (lib/sync/organization-app-events.ts) pushed onto the
 * membership's outbox in that same write, re-decided when another writer got there first.
 * Cascades announce the memberships they end (`app/membership.deleted`, with the reason).
 *
 * A deletion of the organization or the user racing a membership write: the parent's
 * tombstone is written before its cascade (`endFor*`) runs, and a live membership write is
 * followed by a second look at the parents. Either that look sees the tombstone and removes
 * the membership, or the look came before the tombstone, so the write did too and the
 * cascade, which runs after the tombstone, removes it. Either way no member of a deleted
 * organization, and no deleted user, is left with access.
 */
export function createMembershipStore(memberships: MembershipModel, deps: { organizations: OrganizationModel; users: UserModel; audit: AuditLog }): MembershipStore {
  async function parentsOf(snapshot: MembershipSnapshot) {
    const [organization, user] = await Promise.all([
      deps.organizations.findById(snapshot.organizationId, { deletedAt: 1 }).lean<{ deletedAt?: Date | null }>(),
      deps.users.findById(snapshot.userId, { deletedAt: 1 }).lean<{ deletedAt?: Date | null }>(),
    ]);
    return { organizationDeleted: Boolean(organization?.deletedAt), userDeleted: Boolean(user?.deletedAt) };
  }

  /**
   * Performs the decision's write, with the app event it produces appended to the membership's
   * outbox in the same write; `false` when the document moved on since it was read (the
   * compare-and-set covers `removedAt` too: a cascade that ended the membership meanwhile
   * makes the write miss, so it is re-decided instead of reviving the member).
   */
  async function write(event: MembershipEvent, decision: Exclude<MembershipDecision, { kind: "skip" }>, stored: StoredMembership | null): Promise<boolean> {
    const { snapshot } = event;
    const _id = membershipKey(snapshot.organizationId, snapshot.userId);
    const removed = decision.kind === "insert-removed" || (decision.kind === "replace" && decision.removed);
    const fields = { ...snapshot, removedAt: removed ? event.at : null };
    const appEvent = membershipAppEventFor(
      { organizationId: snapshot.organizationId, userId: snapshot.userId, previous: stored && eventStateOf(stored), next: { ...snapshot, removed } },
      event.origin,
    );
    try {
      if (decision.kind !== "replace") {
        await memberships.create({ _id, ...fields, ...(appEvent && { outbox: [appEvent] }) });
        return true;
      }
      const { expected } = decision;
      const filter = { _id, membershipId: expected.membershipId, clerkUpdatedAt: new Date(expected.version), removedAt: stored?.removedAt ?? null };
      return (await memberships.updateOne(filter, { $set: fields, ...(appEvent && { $push: { outbox: appEvent } }) })).matchedCount === 1;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  async function decideAndWrite(event: MembershipEvent): Promise<MembershipOutcome> {
    const { snapshot } = event;
    const _id = membershipKey(snapshot.organizationId, snapshot.userId);
    const change = { kind: event.kind, membershipId: snapshot.membershipId, generation: snapshot.generation.getTime(), version: snapshot.clerkUpdatedAt.getTime() };
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const [stored, parents] = await Promise.all([memberships.findById(_id, withoutOutbox).lean<StoredMembership>(), parentsOf(snapshot)]);
      const decision = decideMembership(stored ? stateOf(stored) : null, change, parents);
      if (decision.kind === "skip") return { kind: "skipped", reason: decision.reason };
      if (!(await write(event, decision, stored))) continue;
      if (event.kind === "delete") return { kind: "removed" };
      const after = await parentsOf(snapshot);
      if (after.organizationDeleted || after.userDeleted) {
        const reason = after.organizationDeleted ? "organization-deleted" : "user-deleted";
        // The member just written is ended at once, and says so: its `created` is followed by a `deleted`.
        const ended = membershipAppEventFor(
          { organizationId: snapshot.organizationId, userId: snapshot.userId, previous: { ...snapshot, removed: false }, next: { ...snapshot, removed: true }, reason },
          event.origin,
        );
        await memberships.updateOne({ _id, membershipId: snapshot.membershipId, removedAt: null }, { $set: { removedAt: event.at }, ...(ended && { $push: { outbox: ended } }) });
        return { kind: "skipped", reason };
      }
      return { kind: decision.kind === "insert" ? "created" : "updated" };
    }
    throw new Error(`membership ${_id}: gave up after ${maxAttempts} conflicting writes`);
  }

  /**
   * Ends every live membership matching `filter`, each with its `app/membership.deleted` pushed
   * onto its outbox in the same write: one read and one unordered bulk write per page, each
   * write guarded by the membership it read (a membership replaced meanwhile is read again).
   */
  async function end(filter: { organizationId: string } | { userId: string }, at: Date, reason: MembershipEndReason, origin?: SyncOrigin): Promise<number> {
    const { source, sourceEventId } = origin ?? { source: "webhook" as const, sourceEventId: null };
    let total = 0;
    for (let missed = 0; missed < maxAttempts; ) {
      const live = await memberships.find({ ...filter, removedAt: null }, withoutOutbox).limit(endPageSize).batchSize(endPageSize).lean<StoredMembership[]>();
      if (live.length === 0) return total;
      const writes = live.map((doc) => {
        const previous = eventStateOf(doc);
        const appEvent = membershipAppEventFor({ organizationId: doc.organizationId, userId: doc.userId, previous, next: { ...previous, removed: true }, reason }, origin);
        return {
          updateOne: {
            filter: { _id: doc._id, membershipId: doc.membershipId, clerkUpdatedAt: doc.clerkUpdatedAt, removedAt: null },
            update: { $set: { removedAt: at }, ...(appEvent && { $push: { outbox: appEvent } }) },
          },
        };
      });
      const result = await memberships.bulkWrite(writes as never, { ordered: false });
      const landed = result.matchedCount === live.length ? live : await endedBy(live, at);
      if (landed.length === 0) missed += 1;
      total += landed.length;
      await deps.audit.record(landed.map((doc) => ({ entity: "membership" as const, userId: doc._id, source, sourceEventId, decision: "applied" as const, change: "deleted" as const })));
    }
    throw new Error(`memberships of ${JSON.stringify(filter)}: gave up after ${maxAttempts} conflicting writes`);
  }

  /** Which of these memberships the cascade's write ended (the others changed under it). */
  async function endedBy(read: readonly StoredMembership[], at: Date): Promise<StoredMembership[]> {
    const now = await memberships.find({ _id: { $in: read.map((doc) => doc._id) } }, { membershipId: 1, removedAt: 1 }).lean<Pick<StoredMembership, "_id" | "membershipId" | "removedAt">[]>();
    const byId = new Map(now.map((doc) => [doc._id, doc]));
    return read.filter((doc) => {
      const current = byId.get(doc._id);
      return current?.membershipId === doc.membershipId && current.removedAt?.getTime() === at.getTime();
    });
  }

  return {
    async apply(event) {
      const outcome = await decideAndWrite(event);
      const { source, sourceEventId } = event.origin ?? { source: "webhook" as const, sourceEventId: null };
      await deps.audit.record([
        {
          entity: "membership",
          userId: membershipKey(event.snapshot.organizationId, event.snapshot.userId),
          source,
          sourceEventId,
          decision: outcome.kind === "skipped" ? outcome.reason : "applied",
          change: outcome.kind === "skipped" ? null : outcome.kind === "removed" ? "deleted" : outcome.kind,
        },
      ]);
      return outcome;
    },
    endForOrganization: (organizationId, at, origin) => end({ organizationId }, at, "organization-deleted", origin),
    endForUser: (userId, at, origin) => end({ userId }, at, "user-deleted", origin),
  };
}

type StoredMembership = Omit<MembershipDocument, "outbox">;
/** What the rules and the app events compare, without the pending events themselves. */
const withoutOutbox = { outbox: 0 } as const;
/** Memberships a cascade ends per read and bulk write. */
const endPageSize = 500;

function eventStateOf(doc: StoredMembership): MembershipEventState {
  return {
    membershipId: doc.membershipId,
    removed: Boolean(doc.removedAt),
    role: doc.role ?? null,
    permissions: doc.permissions ?? [],
    publicMetadata: (doc.publicMetadata as Record<string, unknown> | null | undefined) ?? {},
    clerkUpdatedAt: doc.clerkUpdatedAt,
  };
}

function stateOf(doc: StoredMembership): StoredMembershipState {
  const version = { membershipId: doc.membershipId, generation: doc.generation.getTime(), version: doc.clerkUpdatedAt.getTime() };
  return doc.removedAt ? { kind: "removed", ...version } : { kind: "live", ...version };
}
