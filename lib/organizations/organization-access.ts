import type { TokenOrganization } from "../auth/authenticate-request.js";
import type { AuditLog } from "../audit/audit-log.js";
import { isDuplicateKeyError } from "../db/errors.js";
import { membershipAppEventFor } from "../sync/organization-app-events.js";
import type { SyncOrigin } from "../sync/types.js";
import { membershipKey } from "./membership-key.js";
import type { MembershipDocument, MembershipModel } from "./membership-model.js";
import type { OrganizationDocument, OrganizationModel } from "./organization-model.js";

export interface OrganizationAccess {
  organizationId: string;
  /** The stored organization; `null` while its webhook has not arrived yet. */
  organization: OrganizationDocument | null;
  membership: MembershipDocument;
}

export interface Caller {
  userId: string;
  token: { organization: TokenOrganization | null; issuedAt: Date };
}

/** Where the stores and routes come from (the services hold them); `audit` records every just-in-time write. */
export interface MembershipAccessDeps {
  memberships: MembershipModel;
  organizations: OrganizationModel;
  audit?: Pick<AuditLog, "record">;
}

/** Pending app events are the outbox's business, not the caller's. */
const withoutOutbox = { outbox: 0 } as const;

/** A just-in-time write's origin, in its app event and audit record. */
const tokenOrigin: SyncOrigin = { source: "fallback", sourceEventId: null };

/** A membership known only from a session token: any membership event from Clerk replaces it. */
const tokenMembershipId = (organizationId: string, userId: string) => `token:${membershipKey(organizationId, userId)}`;

/**
 * The caller's membership of an organization, or `null` when they are not a member (the
 * routes then answer 404: a non-member learns nothing, not even that the organization exists).
 *
 * The stored membership is the truth, with one just-in-time rule for the first request after
 * joining, before Clerk's webhook arrives: when the session token names this organization as
 * the active one and nothing is stored, a membership is created from the token's claims (as
 * generation 0, so any event from Clerk replaces it). A stored membership whose version is
 * older than the token takes the token's role and permissions (compare-and-set on that
 * version); a newer one wins over the token: a demoted admin's token that still says admin
 * grants nothing. A removed membership is never revived by a token. Each of these writes is a
 * membership change like any other: its app event (`app/membership.created|updated`, source
 * `fallback`) goes into the membership's outbox in the same write (published with the next
 * change of the membership, or by the outbox sweep), and it is audited.
 */
export async function findMembership(
  models: MembershipAccessDeps,
  caller: Caller,
  organizationId: string,
): Promise<OrganizationAccess | null> {
  const _id = membershipKey(organizationId, caller.userId);
  const claimed = caller.token.organization?.id === organizationId ? caller.token.organization : null;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const [membership, organization] = await Promise.all([
      models.memberships.findById(_id, withoutOutbox).lean<MembershipDocument>(),
      models.organizations.findById(organizationId, withoutOutbox).lean<OrganizationDocument>(),
    ]);
    if (organization?.deletedAt) return null;
    if (!membership) {
      if (!claimed) return null;
      // Created, or another request created it first: either way, read it again.
      if (await createFromToken(models.memberships, caller, claimed)) await audit(models, _id, "created");
      continue;
    }
    if (membership.removedAt) return null;
    if (claimed && isOlderThanToken(membership, caller) && differs(membership, claimed)) {
      const refreshed = { ...membership, role: claimed.role, permissions: claimed.permissions, clerkUpdatedAt: caller.token.issuedAt };
      const appEvent = membershipAppEventFor({ organizationId, userId: caller.userId, previous: eventState(membership), next: eventState(refreshed) }, tokenOrigin);
      const written = await models.memberships.updateOne(
        { _id, membershipId: membership.membershipId, clerkUpdatedAt: membership.clerkUpdatedAt, removedAt: null },
        { $set: { role: claimed.role, permissions: claimed.permissions, clerkUpdatedAt: caller.token.issuedAt }, ...(appEvent && { $push: { outbox: appEvent } }) },
      );
      if (written.matchedCount === 0) continue;
      await audit(models, _id, "updated");
      return { organizationId, organization, membership: refreshed };
    }
    return { organizationId, organization, membership };
  }
  throw new Error(`membership ${_id}: gave up after repeated conflicting writes`);
}

/** `true` when this call created it (`false`: another request did first). */
async function createFromToken(memberships: MembershipModel, caller: Caller, claimed: TokenOrganization): Promise<boolean> {
  const created = {
    _id: membershipKey(claimed.id, caller.userId),
    organizationId: claimed.id,
    userId: caller.userId,
    membershipId: tokenMembershipId(claimed.id, caller.userId),
    generation: new Date(0),
    clerkUpdatedAt: caller.token.issuedAt,
    role: claimed.role,
    permissions: claimed.permissions,
    publicMetadata: {},
    removedAt: null,
  };
  const appEvent = membershipAppEventFor({ organizationId: claimed.id, userId: caller.userId, previous: null, next: { ...created, removed: false } }, tokenOrigin);
  try {
    await memberships.create({ ...created, ...(appEvent && { outbox: [appEvent] }) });
    return true;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return false;
  }
}

const eventState = (membership: Pick<MembershipDocument, "membershipId" | "role" | "permissions" | "publicMetadata" | "clerkUpdatedAt" | "removedAt">) => ({
  membershipId: membership.membershipId,
  removed: Boolean(membership.removedAt),
  role: membership.role ?? null,
  permissions: membership.permissions ?? [],
  publicMetadata: (membership.publicMetadata as Record<string, unknown> | null | undefined) ?? {},
  clerkUpdatedAt: membership.clerkUpdatedAt,
});

function audit(deps: MembershipAccessDeps, key: string, change: "created" | "updated"): Promise<void> {
  return deps.audit?.record([{ entity: "membership", userId: key, ...tokenOrigin, decision: "applied", change }]) ?? Promise.resolve();
}

const isOlderThanToken = (membership: MembershipDocument, caller: Caller) => membership.clerkUpdatedAt.getTime() < caller.token.issuedAt.getTime();
const differs = (membership: MembershipDocument, claimed: TokenOrganization) =>
  membership.role !== claimed.role || [...(membership.permissions ?? [])].sort().join() !== [...claimed.permissions].sort().join();

/** For app routes: the caller's role in the organization must be one of `roles` (else 403; non-members already got 404). */
export function hasOrgRole(access: OrganizationAccess, roles: readonly string[]): boolean {
  return access.membership.role !== undefined && access.membership.role !== null && roles.includes(access.membership.role);
}

/** For app routes: the caller's membership must carry `permission` (e.g. `org:sys_memberships:manage`). */
export function hasPermission(access: OrganizationAccess, permission: string): boolean {
  return (access.membership.permissions ?? []).includes(permission);
}
