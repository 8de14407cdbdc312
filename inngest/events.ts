import { eventType } from "inngest";
import {
  type ClerkUserEventType,
  clerkUserDeletedSchema,
  clerkUserSchema,
} from "../lib/clerk/user-payload.js";

/**
 * The event catalogue. Clerk's events keep Clerk's own names under `clerk/` and
 * Clerk's own `data`, so the webhook path and Clerk's direct "Connect to Inngest"
 * path produce the same events (the direct path only lacks `id` and the envelope `ts`).
 */
export const clerkUserCreated = eventType("clerk/user.created", { schema: clerkUserSchema });
export const clerkUserUpdated = eventType("clerk/user.updated", { schema: clerkUserSchema });
export const clerkUserDeleted = eventType("clerk/user.deleted", { schema: clerkUserDeletedSchema });

export const clerkUserEvents = {
  "user.created": clerkUserCreated,
  "user.updated": clerkUserUpdated,
  "user.deleted": clerkUserDeleted,
} as const satisfies Record<ClerkUserEventType, { name: `clerk/${ClerkUserEventType}` }>;
