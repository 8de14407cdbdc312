import type { SessionJSON, SessionWebhookEvent } from "@clerk/backend";
import { z } from "zod";

/** The parts of Clerk's session webhook data the activity tracking relies on. */
export const clerkSessionSchema = z.object({
  id: z.string().min(1).max(128),
  object: z.string().optional(),
  user_id: z.string().min(1).max(128),
  status: z.string().optional(),
  last_active_at: z.number().int().nonnegative().optional(),
  created_at: z.number().int().nonnegative(),
  updated_at: z.number().int().nonnegative(),
  /**
   * Added by our webhook endpoint from the envelope's `event_attributes.http_request` (and by
   * the documented Inngest transform on the direct path): the client's IP and user agent.
   */
  http_request: z.object({ client_ip: z.string().nullable().optional(), user_agent: z.string().nullable().optional() }).optional(),
});

export type ClerkSession = z.infer<typeof clerkSessionSchema>;

export const clerkSessionEventTypes = ["session.created", "session.ended", "session.removed", "session.revoked"] as const;
export type ClerkSessionEventType = (typeof clerkSessionEventTypes)[number];

export function isClerkSessionEventType(type: string): type is ClerkSessionEventType {
  return (clerkSessionEventTypes as readonly string[]).includes(type);
}

type Assignable<T, U extends T> = U;
/** @public Compile-time proof that Clerk's own session types satisfy our schema. */
export type ClerkSessionTypesMatchOurSchema = [
  Assignable<Omit<ClerkSession, "http_request">, SessionJSON>,
  Assignable<ClerkSessionEventType, Extract<SessionWebhookEvent["type"], ClerkSessionEventType>>,
];
