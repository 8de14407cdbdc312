import { activityModelFor } from "../activity/activity-model.js";
import { purgedPaths } from "../contract/field-table.js";
import { type MembershipModel, membershipModelFor } from "../organizations/membership-model.js";
import { userFields } from "./user-contract.js";
import type { UserModel } from "./user-model.js";

/**
 * Everything personal a tombstone may still hold: every stored field of the user contract
 * (lib/users/user-contract.ts) but those it keeps (`_id`, `deletedAt`, `purgedAt`, our
 * timestamps), so a field added to the contract is erased unless it says otherwise. Unpublished
 * app events (the outbox) carry personal data too; 30 days on, they are past any use.
 */
const personalFields = purgedPaths(userFields);

/**
 * Retention: erases the personal data of users deleted before `cutoff`, in one write,
 * leaving the minimal tombstone (Clerk id, deletion time) that stops a late webhook from
 * resurrecting them. A scheduled delete, not a TTL index: it runs, and is tested, the same
 * on every MongoDB-compatible server. Their sign-in activity records go too, and the personal
 * data of their (ended) organization memberships. Returns how many users it purged.
 */
export async function purgeDeletedUsers(users: UserModel, cutoff: Date, now = new Date()): Promise<number> {
  const due = { deletedAt: { $lt: cutoff }, purgedAt: null };
  const ids = (await users.find(due, { _id: 1 }).lean<{ _id: string }[]>()).map((doc) => doc._id);
  if (ids.length === 0) return 0;
  // What goes with them first, the users last: a run that stops in between leaves the users
  // due, so the next run finishes (each step is idempotent). Their sign-in activity holds IPs and user agents: it goes with them, not 90 days later.
  await activityModelFor(users.db).deleteMany({ userId: { $in: ids } });
  await purgeEndedMemberships(membershipModelFor(users.db), ids, now);
  const result = await users.updateMany(
    { ...due, _id: { $in: ids } },
    { $unset: Object.fromEntries(personalFields.map((field) => [field, ""])), $set: { purgedAt: now } },
  );
  return result.modifiedCount;
}

/**
 * What an ended membership may still hold about its person: the role and permissions they had,
 * the membership's public metadata, and unpublished app events carrying them. The keys and
 * versions stay (organization and user ids, the Clerk membership id, its generation and
 * version, `removedAt`): with them a late event of that membership is still found superseded
 * or removed, never applied as new.
 */
const membershipPersonalFields = ["role", "permissions", "publicMetadata", "outbox"] as const;

/**
 * The memberships of purged users (every one already ended by the user's deletion, which ends
 * them all): their personal data goes with the user's.
 */
async function purgeEndedMemberships(memberships: MembershipModel, userIds: readonly string[], now: Date): Promise<void> {
  await memberships.updateMany(
    { userId: { $in: [...userIds] }, removedAt: { $ne: null }, purgedAt: null },
    { $unset: Object.fromEntries(membershipPersonalFields.map((field) => [field, ""])), $set: { purgedAt: now } },
  );
}
