import type { AuditLog } from "../audit/audit-log.js";
import { isDuplicateKeyError } from "../db/errors.js";
import { decide } from "../sync/decide.js";
import { organizationAppEventFor } from "../sync/organization-app-events.js";
import type { OrganizationSnapshot } from "../sync/to-organization-snapshot.js";
import type { StoredSyncState, SyncOrigin, SyncOutcome, SyncWrite } from "../sync/types.js";
import type { MembershipStore } from "./membership-store.js";
import type { OrganizationDocument, OrganizationModel } from "./organization-model.js";

export type OrganizationEvent = (
  | { kind: "upsert"; organizationId: string; snapshot: OrganizationSnapshot }
  | { kind: "delete"; organizationId: string; deletedAt: Date }
) & { origin?: SyncOrigin };

export interface OrganizationStore {
  apply(event: OrganizationEvent): Promise<SyncOutcome>;
}

const maxAttempts = 20;

/**
 * Applies organization events with the users' rules (lib/sync/decide.ts): one conditional
 * write per event, with its app event (lib/sync/organization-app-events.ts) pushed onto the
 * organization's outbox in that same write, re-decided if another writer got there first. A deletion ends every
 * membership of the organization, each time it is delivered (the cascade is idempotent, so a
 * retry after a crash between the two writes still finishes it).
 */
export function createOrganizationStore(organizations: OrganizationModel, deps: { memberships: MembershipStore; audit: AuditLog }): OrganizationStore {
  /**
   * Performs the decision's write, with the app event it produces appended to the
   * organization's outbox in the same write; `false` when the document moved on since it was read.
   */
  async function write(event: OrganizationEvent, decision: SyncWrite<OrganizationSnapshot>, previous: StoredOrganization | null): Promise<boolean> {
    const _id = event.organizationId;
    const appEvent = organizationAppEventFor(_id, decision, previous as Partial<OrganizationSnapshot> | null, event.origin);
    const push = appEvent ? { $push: { outbox: appEvent } } : {};
    try {
      switch (decision.kind) {
        case "insert":
          await organizations.create({ _id, ...decision.snapshot, ...(appEvent && { outbox: [appEvent] }) });
          return true;
        case "insert-tombstone":
          await organizations.create({ _id, deletedAt: decision.deletedAt });
          return true;
        case "update":
          return (await organizations.updateOne({ _id, deletedAt: null, clerkUpdatedAt: new Date(decision.expectedVersion) }, { $set: decision.snapshot, ...push })).matchedCount === 1;
        case "tombstone":
          return (await organizations.updateOne({ _id, deletedAt: null }, { $set: { deletedAt: decision.deletedAt }, ...push })).matchedCount === 1;
      }
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  async function decideAndWrite(event: OrganizationEvent): Promise<SyncOutcome> {
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const stored = await organizations.findById(event.organizationId, withoutOutbox).lean<StoredOrganization>();
      const decision = decide(stored ? stateOf(stored) : null, event);
      if (decision.kind === "skip") return { kind: "skipped", reason: decision.reason };
      if (await write(event, decision, stored)) return { kind: decision.kind === "insert" ? "created" : decision.kind === "update" ? "updated" : "deleted" };
    }
    throw new Error(`organization ${event.organizationId}: gave up after ${maxAttempts} conflicting writes`);
  }

  return {
    async apply(event) {
      const outcome = await decideAndWrite(event);
      if (event.kind === "delete") await deps.memberships.endForOrganization(event.organizationId, event.deletedAt, event.origin);
      const origin = event.origin ?? { source: "webhook", sourceEventId: null };
      await deps.audit.record([
        {
          entity: "organization",
          userId: event.organizationId,
          ...origin,
          decision: outcome.kind === "skipped" ? outcome.reason : "applied",
          change: outcome.kind === "skipped" ? null : outcome.kind,
        },
      ]);
      return outcome;
    },
  };
}

type StoredOrganization = Omit<OrganizationDocument, "outbox">;
/** The fields an update compares for its app event, without the pending events themselves. */
const withoutOutbox = { outbox: 0 } as const;

function stateOf(doc: Pick<OrganizationDocument, "deletedAt" | "clerkUpdatedAt">): StoredSyncState {
  if (doc.deletedAt) return { kind: "tombstoned", deletedAt: doc.deletedAt };
  return { kind: "live", version: doc.clerkUpdatedAt?.getTime() ?? 0 };
}
