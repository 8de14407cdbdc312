import { eventType } from "inngest";
import { z } from "zod";
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

/** Ask for a reconciliation now (the schedule runs it hourly by default). */
export const usersReconcileRequested = eventType("app/users.reconcile.requested", {
  schema: z.object({ dryRun: z.boolean().optional(), requestedBy: z.string().optional() }),
});

/** Support: re-apply one user from Clerk (fetched fresh; a 404 tombstones it). */
export const userResyncRequested = eventType("app/user.resync.requested", {
  schema: z.object({ userId: z.string().min(1).max(128), requestedBy: z.string().optional() }),
});
