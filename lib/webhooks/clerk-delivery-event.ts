import { formatIssues } from "../validation/format-issues.js";
import { clerkEventDataSchema } from "./clerk-event-schemas.js";
import type { VerifiedClerkDelivery } from "./verify-clerk-webhook.js";

/** The event a verified Clerk delivery becomes in Inngest. */
export interface ClerkInngestEvent {
  /** `clerk/<type>`, Clerk's own type name, as Clerk's direct "Connect to Inngest" path sends it. */
  name: string;
  /** The Svix id: Inngest drops a redelivery with the same id (24 h). */
  id: string;
  /** The envelope timestamp (ms): it dates a deletion, which carries no `updated_at`. */
  ts: number;
  data: Record<string, unknown>;
}

export type ClerkDeliveryDecision =
  | { kind: "forward"; event: ClerkInngestEvent; objectId: unknown }
  | { kind: "ignored" }
  | { kind: "invalid"; errors: string[] };

/**
 * What to do with a verified delivery: forward a type the sync handles (its `data` valid),
 * reject one whose `data` is not usable, acknowledge and drop any other type. Pure.
 */
export function clerkDeliveryDecision(delivery: VerifiedClerkDelivery): ClerkDeliveryDecision {
  const { svixId, type, timestamp, httpRequest } = delivery;
  const handled = clerkEventDataSchema(type);
  if (!handled) return { kind: "ignored" };
  // Session activity needs the client's IP and user agent, which Clerk puts in the envelope.
  const data = handled.withHttpRequest ? { ...delivery.data, http_request: httpRequest } : delivery.data;
  const parsed = handled.schema.safeParse(data);
  if (!parsed.success) return { kind: "invalid", errors: formatIssues(parsed.error.issues) };
  return { kind: "forward", event: { name: `clerk/${type}`, id: svixId, ts: timestamp, data }, objectId: (parsed.data as { id?: unknown }).id };
}
