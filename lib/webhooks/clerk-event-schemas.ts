import type { z } from "zod";
import { clerkOrganizationEventDataSchemas, isClerkOrganizationEventType } from "../clerk/organization-payload.js";
import { clerkSessionSchema, isClerkSessionEventType } from "../clerk/session-payload.js";
import { clerkUserEventDataSchemas, isClerkUserEventType } from "../clerk/user-payload.js";

/**
 * The Clerk webhook types the sync acts on, and the schema each one's `data` must match
 * before it is handed to Inngest; `null` for a type it does not handle (acknowledged, dropped).
 * Session events also carry the envelope's `http_request` (client IP, user agent) in `data`.
 */
export function clerkEventDataSchema(type: string): { schema: z.ZodType; withHttpRequest: boolean } | null {
  if (isClerkUserEventType(type)) return { schema: clerkUserEventDataSchemas[type], withHttpRequest: false };
  if (isClerkOrganizationEventType(type)) return { schema: clerkOrganizationEventDataSchemas[type], withHttpRequest: false };
  if (isClerkSessionEventType(type)) return { schema: clerkSessionSchema, withHttpRequest: true };
  return null;
}
