import type { AuditLog } from "../audit/audit-log.js";
import { isDuplicateKeyError } from "../db/errors.js";
import { decideMembership, type MembershipDecision, type MembershipSkipReason, type StoredMembershipState } from "../sync/decide-membership.js";
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
 * event against the membership it read (compare-and-set on the Clerk membership id and
 * version), re-decided when another writer got there first.
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

  async function write(event: MembershipEvent, decision: Exclude<MembershipDecision, { kind: "skip" }>): Promise<boolean> {
    const { snapshot } = event;
    const _id = membershipKey(snapshot.organizationId, snapshot.userId);
    const removed = decision.kind === "insert-removed" || (decision.kind === "replace" && decision.removed);
    const fields = { ...snapshot, removedAt: removed ? event.at : null };
    try {
      if (decision.kind !== "replace") {
        await memberships.create({ _id, ...fields });
        return true;
      }
      const { expected } = decision;
      const filter = { _id, membershipId: expected.membershipId, clerkUpdatedAt: new Date(expected.version) };
      return (await memberships.updateOne(filter, { $set: fields })).matchedCount === 1;
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
      const [stored, parents] = await Promise.all([memberships.findById(_id).lean<MembershipDocument>(), parentsOf(snapshot)]);
      const decision = decideMembership(stored ? stateOf(stored) : null, change, parents);
      if (decision.kind === "skip") return { kind: "skipped", reason: decision.reason };
      if (!(await write(event, decision))) continue;
      if (event.kind === "delete") return { kind: "removed" };
      const after = await parentsOf(snapshot);
      if (after.organizationDeleted || after.userDeleted) {
        await memberships.updateOne({ _id, membershipId: snapshot.membershipId, removedAt: null }, { $set: { removedAt: event.at } });
        return { kind: "skipped", reason: after.organizationDeleted ? "organization-deleted" : "user-deleted" };
      }
      return { kind: decision.kind === "insert" ? "created" : "updated" };
    }
    throw new Error(`membership ${_id}: gave up after ${maxAttempts} conflicting writes`);
  }

  async function end(filter: { organizationId: string } | { userId: string }, at: Date, origin?: SyncOrigin): Promise<number> {
    const ended = await memberships.find({ ...filter, removedAt: null }, { _id: 1 }).lean<{ _id: string }[]>();
    if (ended.length === 0) return 0;
    await memberships.updateMany({ _id: { $in: ended.map((doc) => doc._id) }, removedAt: null }, { $set: { removedAt: at } });
    const { source, sourceEventId } = origin ?? { source: "webhook" as const, sourceEventId: null };
    await deps.audit.record(ended.map((doc) => ({ entity: "membership" as const, userId: doc._id, source, sourceEventId, decision: "applied" as const, change: "deleted" as const })));
    return ended.length;
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
    endForOrganization: (organizationId, at, origin) => end({ organizationId }, at, origin),
    endForUser: (userId, at, origin) => end({ userId }, at, origin),
  };
}

function stateOf(doc: MembershipDocument): StoredMembershipState {
  const version = { membershipId: doc.membershipId, generation: doc.generation.getTime(), version: doc.clerkUpdatedAt.getTime() };
  return doc.removedAt ? { kind: "removed", ...version } : { kind: "live", ...version };
}
