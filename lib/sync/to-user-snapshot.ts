import type { ClerkUser } from "../clerk/user-payload.js";
import type { UserSnapshot } from "./types.js";

/**
 * Maps Clerk's user payload to what we store. The primary email is the address whose
 * id is `primary_email_address_id`, never `email_addresses[0]`: the order is not a
 * promise and a user may have no primary address at all.
 */
export function toUserSnapshot(user: ClerkUser): UserSnapshot {
  const primary = user.email_addresses.find((address) => address.id === user.primary_email_address_id);
  return {
    email: primary?.email_address.toLowerCase() ?? null,
    emailAddresses: user.email_addresses.map((address) => ({
      id: address.id,
      emailAddress: address.email_address.toLowerCase(),
      verified: address.verification?.status === "verified",
    })),
    firstName: user.first_name ?? null,
    lastName: user.last_name ?? null,
    username: user.username ?? null,
    imageUrl: user.image_url || null,
    publicMetadata: user.public_metadata ?? {},
    banned: user.banned ?? false,
    locked: user.locked ?? false,
    clerkCreatedAt: new Date(user.created_at),
    clerkUpdatedAt: new Date(user.updated_at),
  };
}
