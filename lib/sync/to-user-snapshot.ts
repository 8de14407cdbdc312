import type { ClerkUser } from "../clerk/user-payload.js";
import { fieldsFrom, fromPayload } from "../contract/field-table.js";
import { userFields } from "../users/user-contract.js";
import type { UserSnapshot } from "./types.js";

const snapshotFields = fieldsFrom(userFields, "clerk");

/**
 * Maps Clerk's user payload to what we store: each field the user contract
 * (lib/users/user-contract.ts) takes from Clerk, by its `fromClerk`. The primary email is
 * the address whose id is `primary_email_address_id`, never `email_addresses[0]`.
 */
export function toUserSnapshot(user: ClerkUser): UserSnapshot {
  return fromPayload(userFields, snapshotFields, user) as UserSnapshot;
}
