import { z } from "zod";
import type { ClerkUser } from "../clerk/user-payload.js";
import { defineFields, type SnapshotOf } from "../contract/field-table.js";
import { profileSchema, toProfileView } from "./profile-schemas.js";
import type { UserDocument } from "./user-model.js";

/**
 * The user contract: every field of a user, once. Where its value comes from (Clerk's payload
 * and how it is mapped, Clerk's session webhooks, the user's own profile, our bookkeeping),
 * where it is stored, and where it appears: the API view (and so the OpenAPI `User` schema and
 * the typed client), the personal-data export, app events and their `changedFields`, and
 * whether the retention purge keeps it. Derived from this table: the Clerk → snapshot mapping
 * (lib/sync/to-user-snapshot.ts), the view (user-view.ts), the export (user-export.ts), the
 * app-event `user` schema (inngest/events.ts) and payload (lib/sync/app-event-for.ts), and the
 * purge's field list. Not derived, compared with it by test/lib/users/user-contract.test.ts:
 * the Mongoose schema (user-model.ts) and Clerk's payload schema (lib/clerk/user-payload.ts).
 *
 * Adding a field is one entry here, plus its Mongoose path (and, for a field from Clerk, its key
 * in `clerkUserSchema`), plus its values in the contract test, which fails until all agree.
 * Model-free: zod and types only (the OpenAPI document is built from it without Mongoose).
 */

const nullableString = z.string().nullable();
const dateTime = z.iso.datetime();
const nullableDateTime = z.iso.datetime().nullable();
const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

export const userFields = defineFields<ClerkUser, UserDocument>()({
  id: { source: "key", stored: "_id", json: z.string(), toJson: (doc) => doc._id, in: ["view", "export"], keptByPurge: true },
  email: {
    source: "clerk",
    clerk: ["email_addresses", "primary_email_address_id"],
    // The address whose id is primary_email_address_id, never email_addresses[0]: the order is no
    // promise, and a user may have no primary address at all.
    fromClerk: (user): string | null => user.email_addresses.find((address) => address.id === user.primary_email_address_id)?.email_address.toLowerCase() ?? null,
    json: nullableString,
    toJson: (doc) => doc.email ?? null,
    in: ["view", "export", "appEvent", "changedFields"],
  },
  emailAddresses: {
    source: "clerk",
    clerk: ["email_addresses"],
    fromClerk: (user): { id: string; emailAddress: string; verified: boolean }[] =>
      user.email_addresses.map((address) => ({
        id: address.id,
        emailAddress: address.email_address.toLowerCase(),
        verified: address.verification?.status === "verified",
      })),
    json: z.array(z.object({ id: z.string(), emailAddress: z.string(), verified: z.boolean() })),
    toJson: (doc) => (doc.emailAddresses ?? []).map(({ id, emailAddress, verified }) => ({ id, emailAddress, verified })),
    // Announced as a change, not carried: consumers read addresses from the API.
    in: ["view", "export", "changedFields"],
  },
  firstName: {
    source: "clerk",
    clerk: ["first_name"],
    fromClerk: (user): string | null => user.first_name ?? null,
    json: nullableString,
    toJson: (doc) => doc.firstName ?? null,
    in: ["view", "export", "appEvent", "changedFields"],
  },
  lastName: {
    source: "clerk",
    clerk: ["last_name"],
    fromClerk: (user): string | null => user.last_name ?? null,
    json: nullableString,
    toJson: (doc) => doc.lastName ?? null,
    in: ["view", "export", "appEvent", "changedFields"],
  },
  username: {
    source: "clerk",
    clerk: ["username"],
    fromClerk: (user): string | null => user.username ?? null,
    json: nullableString,
    toJson: (doc) => doc.username ?? null,
    in: ["view", "export", "appEvent", "changedFields"],
  },
  imageUrl: {
    source: "clerk",
    clerk: ["image_url"],
    fromClerk: (user): string | null => user.image_url || null,
    json: nullableString,
    toJson: (doc) => doc.imageUrl ?? null,
    in: ["view", "export", "appEvent", "changedFields"],
  },
  publicMetadata: {
    source: "clerk",
    clerk: ["public_metadata"],
    // Clerk's private and unsafe metadata are never stored.
    fromClerk: (user): Record<string, unknown> => user.public_metadata ?? {},
    json: z.record(z.string(), z.unknown()),
    toJson: (doc) => (doc.publicMetadata as Record<string, unknown> | undefined) ?? {},
    in: ["view", "export", "appEvent", "changedFields"],
  },
  banned: {
    source: "clerk",
    clerk: ["banned"],
    fromClerk: (user): boolean => user.banned ?? false,
    json: z.boolean(),
    toJson: (doc) => doc.banned ?? false,
    in: ["view", "export", "appEvent", "changedFields"],
  },
  locked: {
    source: "clerk",
    clerk: ["locked"],
    fromClerk: (user): boolean => user.locked ?? false,
    json: z.boolean(),
    toJson: (doc) => doc.locked ?? false,
    in: ["view", "export", "appEvent", "changedFields"],
  },
  /** App-owned: the only field a user edits (PATCH /api/me, `profilePatchSchema`). */
  profile: { source: "app", json: profileSchema, toJson: (doc) => toProfileView(doc.profile), in: ["view", "export"] },
  /** The tombstone: shown as a flag. A tombstone written before the user was seen holds only `_id` and `deletedAt`. */
  deleted: { source: "sync", stored: "deletedAt", json: z.boolean(), toJson: (doc) => Boolean(doc.deletedAt), in: ["view"], keptByPurge: true },
  clerkCreatedAt: {
    source: "clerk",
    clerk: ["created_at"],
    fromClerk: (user): Date => new Date(user.created_at),
    json: nullableDateTime,
    toJson: (doc) => iso(doc.clerkCreatedAt),
    in: ["view", "export"],
  },
  /** Clerk's `updated_at`: the version the ordering rule compares. */
  clerkUpdatedAt: {
    source: "clerk",
    clerk: ["updated_at"],
    fromClerk: (user): Date => new Date(user.updated_at),
    json: nullableDateTime,
    toJson: (doc) => iso(doc.clerkUpdatedAt),
    appEventJson: z.string(),
    in: ["view", "export", "appEvent"],
  },
  /** Last authenticated API request, written at most once per LAST_SEEN_INTERVAL_SECONDS. */
  lastSeenAt: { source: "sync", json: nullableDateTime, toJson: (doc) => iso(doc.lastSeenAt), in: ["view", "export"] },
  createdAt: { source: "sync", json: dateTime, toJson: (doc) => doc.createdAt.toISOString(), in: ["view", "export"], keptByPurge: true },
  updatedAt: { source: "sync", json: dateTime, toJson: (doc) => doc.updatedAt.toISOString(), in: ["view", "export"], keptByPurge: true },
  lastSignInAt: { source: "clerk-sessions", json: nullableDateTime, toJson: (doc) => iso(doc.lastSignInAt), in: ["export"] },
  lastActiveAt: { source: "clerk-sessions", json: nullableDateTime, toJson: (doc) => iso(doc.lastActiveAt), in: ["export"] },
  /** When the purge removed a tombstoned user's personal data. */
  purgedAt: { source: "sync", keptByPurge: true },
  /** App events not yet published (a transactional outbox); they carry personal data, so the purge erases them. */
  outbox: { source: "sync" },
  /** The welcome email: claimed before sending (at most once), then marked sent. */
  welcomeEmail: { source: "sync" },
});

export type UserFields = typeof userFields;
/** The user as the sync stores it, mapped from Clerk's payload (`fromClerk` of each Clerk field). */
export type UserSnapshot = SnapshotOf<UserFields>;

