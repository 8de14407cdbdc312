import { eventType } from "inngest";
import { z } from "zod";
import { clerkMembershipSchema, clerkOrganizationDeletedSchema, clerkOrganizationSchema } from "../lib/clerk/organization-payload.js";
import { clerkSessionSchema } from "../lib/clerk/session-payload.js";
import { clerkUserDeletedSchema, clerkUserSchema } from "../lib/clerk/user-payload.js";
import { jsonShape } from "../lib/contract/field-table.js";
import { userFields } from "../lib/users/user-contract.js";

/**
 * The event catalogue. Clerk's events keep Clerk's own names under `clerk/` and
 * Clerk's own `data`, so the webhook path and Clerk's direct "Connect to Inngest"
 * path produce the same events (the direct path only lacks `id` and the envelope `ts`).
 */
export const clerkUserCreated = eventType("clerk/user.created", { schema: clerkUserSchema });
export const clerkUserUpdated = eventType("clerk/user.updated", { schema: clerkUserSchema });
export const clerkUserDeleted = eventType("clerk/user.deleted", { schema: clerkUserDeletedSchema });

/** Clerk's session events; `data.http_request` is added from the envelope by our endpoint. */
export const clerkSessionCreated = eventType("clerk/session.created", { schema: clerkSessionSchema });
export const clerkSessionEnded = eventType("clerk/session.ended", { schema: clerkSessionSchema });
export const clerkSessionRemoved = eventType("clerk/session.removed", { schema: clerkSessionSchema });
export const clerkSessionRevoked = eventType("clerk/session.revoked", { schema: clerkSessionSchema });

/** Clerk's organization and membership events (`organizationMembership.deleted` carries the whole membership). */
export const clerkOrganizationCreated = eventType("clerk/organization.created", { schema: clerkOrganizationSchema });
export const clerkOrganizationUpdated = eventType("clerk/organization.updated", { schema: clerkOrganizationSchema });
export const clerkOrganizationDeleted = eventType("clerk/organization.deleted", { schema: clerkOrganizationDeletedSchema });
export const clerkMembershipCreated = eventType("clerk/organizationMembership.created", { schema: clerkMembershipSchema });
export const clerkMembershipUpdated = eventType("clerk/organizationMembership.updated", { schema: clerkMembershipSchema });
export const clerkMembershipDeleted = eventType("clerk/organizationMembership.deleted", { schema: clerkMembershipSchema });

/** Ask for a reconciliation now (the schedule runs it hourly by default). */
export const usersReconcileRequested = eventType("app/users.reconcile.requested", {
  schema: z.object({ dryRun: z.boolean().optional(), force: z.boolean().optional(), requestedBy: z.string().optional() }),
});

/** Support: re-apply one user from Clerk (fetched fresh; a 404 tombstones it). */
export const userResyncRequested = eventType("app/user.resync.requested", {
  schema: z.object({ userId: z.string().min(1).max(128), requestedBy: z.string().optional() }),
});

/*
 * App events (v1): what other parts of the app and other services consume. Emitted only
 * when a sync actually changes a stored user (organization, membership) (never for a duplicate or stale delivery),
 * each with a deterministic `id` derived from the change it reports, so a retried step or
 * a republish never produces a second event: Inngest drops a repeated id for 24 h, and
 * JetStream drops a repeated `Nats-Msg-Id` within its duplicate window.
 */
const syncSources = ["webhook", "fallback", "reconcile", "replay"] as const;
/** The user in `app/user.created|updated`: the user contract's `appEvent` fields (lib/users/user-contract.ts). */
const appUserSchema = z.object(jsonShape(userFields, "appEvent"));
const appEventBase = {
  v: z.literal(1),
  userId: z.string(),
  source: z.enum(syncSources),
  /** The Svix id, Inngest event id, request id or reconciliation run that caused it. */
  sourceEventId: z.string().nullable(),
  occurredAt: z.string(),
};

export const appUserCreated = eventType("app/user.created", { schema: z.object({ ...appEventBase, user: appUserSchema }) });
export const appUserUpdated = eventType("app/user.updated", {
  schema: z.object({ ...appEventBase, changedFields: z.array(z.string()), user: appUserSchema }),
});
export const appUserDeleted = eventType("app/user.deleted", { schema: z.object(appEventBase) });

const sessionEventBase = { v: z.literal(1), userId: z.string(), sessionId: z.string(), occurredAt: z.string() };
export const appUserSignedIn = eventType("app/user.signed_in", {
  schema: z.object({ ...sessionEventBase, clientIp: z.string().nullable(), userAgent: z.string().nullable() }),
});
export const appUserSignedOut = eventType("app/user.signed_out", {
  schema: z.object({ ...sessionEventBase, reason: z.enum(["ended", "removed", "revoked"]) }),
});

/*
 * Organization and membership app events (v1), from the same outbox and with the same
 * guarantees as the user ones (lib/sync/organization-app-events.ts decides them). A membership
 * is a (organization, user) pair: `created` when the user becomes a member, `updated` when the
 * role, permissions or public metadata changed, `deleted` when they stop being one, whether
 * Clerk removed them or the deletion of the organization or the user ended it (`reason`).
 */
const organizationEventBase = {
  v: z.literal(1),
  organizationId: z.string(),
  source: z.enum(syncSources),
  sourceEventId: z.string().nullable(),
  occurredAt: z.string(),
};
/** The organization in `app/organization.created|updated`. */
const appOrganizationSchema = z.object({
  name: z.string(),
  slug: z.string().nullable(),
  imageUrl: z.string().nullable(),
  publicMetadata: z.record(z.string(), z.unknown()),
  membersCount: z.number().int().nullable(),
  /** Clerk's `updated_at` of this version: order an organization's events by it. */
  clerkUpdatedAt: z.string(),
});
export const appOrganizationCreated = eventType("app/organization.created", { schema: z.object({ ...organizationEventBase, organization: appOrganizationSchema }) });
export const appOrganizationUpdated = eventType("app/organization.updated", {
  schema: z.object({ ...organizationEventBase, changedFields: z.array(z.string()), organization: appOrganizationSchema }),
});
export const appOrganizationDeleted = eventType("app/organization.deleted", { schema: z.object(organizationEventBase) });

const membershipEventBase = { ...organizationEventBase, userId: z.string() };
/** The membership in `app/membership.created|updated`. */
const appMembershipSchema = z.object({
  role: z.string().nullable(),
  permissions: z.array(z.string()),
  publicMetadata: z.record(z.string(), z.unknown()),
  /** The version (Clerk's `updated_at`, or the session token's issue time for a membership known from the token first). */
  clerkUpdatedAt: z.string(),
});
export const appMembershipCreated = eventType("app/membership.created", { schema: z.object({ ...membershipEventBase, membership: appMembershipSchema }) });
export const appMembershipUpdated = eventType("app/membership.updated", {
  schema: z.object({ ...membershipEventBase, changedFields: z.array(z.string()), membership: appMembershipSchema }),
});
export const appMembershipDeleted = eventType("app/membership.deleted", {
  schema: z.object({ ...membershipEventBase, reason: z.enum(["removed", "organization-deleted", "user-deleted"]) }),
});

/** Every app event, e.g. for the JetStream publisher's triggers. */
export const appEvents = [
  appUserCreated,
  appUserUpdated,
  appUserDeleted,
  appUserSignedIn,
  appUserSignedOut,
  appOrganizationCreated,
  appOrganizationUpdated,
  appOrganizationDeleted,
  appMembershipCreated,
  appMembershipUpdated,
  appMembershipDeleted,
] as const;
