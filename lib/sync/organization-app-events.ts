import { sameValue } from "./app-event-for.js";
import type { OrganizationSnapshot } from "./to-organization-snapshot.js";
import type { AppEvent, SyncOrigin, SyncWrite } from "./types.js";

/**
 * Pure: the app events organization and membership changes produce (the organization and
 * membership stores write them into the changed document's outbox, in the same write as the
 * change). As for users (lib/sync/app-event-for.ts): `created` when something becomes visible,
 * `updated` only when a field consumers see changed, `deleted` when something they saw goes;
 * each id depends only on the change, never on the delivery, so a re-sent event is dropped
 * downstream (Inngest's event id, JetStream's `Nats-Msg-Id`).
 */

const defaultOrigin: SyncOrigin = { source: "webhook", sourceEventId: null };

/** The organization fields app events carry in `organization`, in the order `changedFields` lists them. */
export const announcedOrganizationFields = ["name", "slug", "imageUrl", "publicMetadata", "membersCount"] as const satisfies readonly (keyof OrganizationSnapshot)[];

/** The membership fields app events carry in `membership`, in the order `changedFields` lists them. */
export const announcedMembershipFields = ["role", "permissions", "publicMetadata"] as const;

const eventBase = (origin: SyncOrigin, now: Date) => ({ v: 1 as const, source: origin.source, sourceEventId: origin.sourceEventId, occurredAt: now.toISOString() });

function publicOrganization(snapshot: OrganizationSnapshot) {
  return {
    name: snapshot.name,
    slug: snapshot.slug,
    imageUrl: snapshot.imageUrl,
    publicMetadata: snapshot.publicMetadata,
    membersCount: snapshot.membersCount,
    clerkUpdatedAt: snapshot.clerkUpdatedAt.toISOString(),
  };
}

/**
 * The app event an organization write produces, or `null`: `created` for a new organization,
 * `updated` when a field of `announcedOrganizationFields` changed (Clerk bumps `updated_at` for
 * fields we do not store, private metadata among them), `deleted` when a known organization is
 * tombstoned (a tombstone for one never seen announces nothing).
 */
export function organizationAppEventFor(
  organizationId: string,
  write: SyncWrite<OrganizationSnapshot>,
  previous: Partial<OrganizationSnapshot> | null,
  origin: SyncOrigin = defaultOrigin,
  now: Date = new Date(),
): AppEvent | null {
  const base = { ...eventBase(origin, now), organizationId };
  switch (write.kind) {
    case "insert":
      return { id: `app/organization.created:${organizationId}`, name: "app/organization.created", data: { ...base, organization: publicOrganization(write.snapshot) } };
    case "update": {
      const changedFields = announcedOrganizationFields.filter((field) => !sameValue(previous?.[field], write.snapshot[field]));
      if (changedFields.length === 0) return null;
      return {
        id: `app/organization.updated:${organizationId}:${write.snapshot.clerkUpdatedAt.getTime()}`,
        name: "app/organization.updated",
        data: { ...base, changedFields, organization: publicOrganization(write.snapshot) },
      };
    }
    case "tombstone":
      return { id: `app/organization.deleted:${organizationId}`, name: "app/organization.deleted", data: base };
    case "insert-tombstone":
      return null;
  }
}

/** A stored membership as the events compare it: which of Clerk's memberships, whether it grants access, what consumers see. */
export interface MembershipEventState {
  membershipId: string;
  removed: boolean;
  role?: string | null;
  permissions?: readonly string[] | null;
  publicMetadata?: Record<string, unknown> | null;
  /** The version written (Clerk's `updated_at`, or a session token's issue time). */
  clerkUpdatedAt: Date;
}

/** Why a membership ended: Clerk removed it, or the deletion of its organization or user ended it (a cascade). */
export type MembershipEndReason = "removed" | "organization-deleted" | "user-deleted";

export interface MembershipTransition {
  organizationId: string;
  userId: string;
  /** What was stored before the write (`null`: no document). */
  previous: MembershipEventState | null;
  /** What the write stores. */
  next: MembershipEventState;
  /** For an ending membership: why (default `removed`). */
  reason?: MembershipEndReason;
}

function publicMembership(state: MembershipEventState) {
  return {
    role: state.role ?? null,
    permissions: [...(state.permissions ?? [])],
    publicMetadata: state.publicMetadata ?? {},
    clerkUpdatedAt: state.clerkUpdatedAt.toISOString(),
  };
}

/** Permissions are a set: Clerk listing them in another order changes nothing. */
const sameMembershipField = (field: (typeof announcedMembershipFields)[number], a: MembershipEventState, b: MembershipEventState) =>
  field === "permissions" ? sameValue([...(a.permissions ?? [])].sort(), [...(b.permissions ?? [])].sort()) : sameValue(a[field], b[field]);

/**
 * The app event a membership write produces, or `null`. A membership is what consumers see of
 * a (organization, user) pair: `created` when the pair becomes a member (first membership, or
 * re-added after a removal), `updated` when a member's role, permissions or public metadata
 * changed (a member re-added under a new Clerk membership while the removal was never seen is
 * still a member: `updated` if anything visible changed), `deleted` when a member stops being
 * one (removed, or ended by the deletion of the organization or the user). Ids name the Clerk
 * membership: `created` and `deleted` happen at most once per membership id (a removal is
 * final for that id, a replaced membership never comes back), `updated` once per version.
 */
export function membershipAppEventFor(transition: MembershipTransition, origin: SyncOrigin = defaultOrigin, now: Date = new Date()): AppEvent | null {
  const { organizationId, userId, previous, next } = transition;
  const wasMember = previous !== null && !previous.removed;
  const isMember = !next.removed;
  const key = `${organizationId}:${userId}`;
  const base = { ...eventBase(origin, now), organizationId, userId };
  if (!wasMember && isMember) {
    return { id: `app/membership.created:${key}:${next.membershipId}`, name: "app/membership.created", data: { ...base, membership: publicMembership(next) } };
  }
  if (wasMember && !isMember) {
    return { id: `app/membership.deleted:${key}:${previous.membershipId}`, name: "app/membership.deleted", data: { ...base, reason: transition.reason ?? "removed" } };
  }
  if (wasMember && isMember) {
    const changedFields = announcedMembershipFields.filter((field) => !sameMembershipField(field, previous, next));
    if (changedFields.length === 0) return null;
    return {
      id: `app/membership.updated:${key}:${next.membershipId}:${next.clerkUpdatedAt.getTime()}`,
      name: "app/membership.updated",
      data: { ...base, changedFields, membership: publicMembership(next) },
    };
  }
  return null;
}
