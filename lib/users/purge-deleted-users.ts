import { activityModelFor } from "../activity/activity-model.js";
import { purgedPaths } from "../contract/field-table.js";
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
 * on every MongoDB-compatible server. Their sign-in activity records go too. Returns how
 * many users it purged.
 */
export async function purgeDeletedUsers(users: UserModel, cutoff: Date, now = new Date()): Promise<number> {
  const due = { deletedAt: { $lt: cutoff }, purgedAt: null };
  const ids = (await users.find(due, { _id: 1 }).lean<{ _id: string }[]>()).map((doc) => doc._id);
  if (ids.length === 0) return 0;
  const result = await users.updateMany(
    { ...due, _id: { $in: ids } },
    { $unset: Object.fromEntries(personalFields.map((field) => [field, ""])), $set: { purgedAt: now } },
  );
  // Their sign-in activity holds IPs and user agents: it goes with them, not 90 days later.
  await activityModelFor(users.db).deleteMany({ userId: { $in: ids } });
  return result.modifiedCount;
}
