import { formatIssues } from "../validation/format-issues.js";
import { type ClerkInstanceCheck, checkClerkInstance, instanceIdField } from "./clerk-instance.js";
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
  /** Clerk's `data`, plus the envelope's `instance_id` (and `http_request` for sessions). */
  data: Record<string, unknown>;
}

export type ClerkDeliveryDecision =
  | { kind: "forward"; event: ClerkInngestEvent; objectId: unknown }
  | { kind: "ignored" }
  | { kind: "invalid"; errors: string[] }
  | { kind: "wrong-instance"; check: Exclude<ClerkInstanceCheck, { kind: "accepted" }> };

/**
 * What to do with a verified delivery: refuse one from another Clerk instance than
 * `expectedInstanceId` (whatever its type), forward a type the sync handles (its `data` valid),
 * reject one whose `data` is not usable, acknowledge and drop any other type. Pure.
 */
export function clerkDeliveryDecision(delivery: VerifiedClerkDelivery, expectedInstanceId?: string): ClerkDeliveryDecision {
  const { svixId, type, timestamp, httpRequest, instanceId } = delivery;
  const instance = checkClerkInstance(expectedInstanceId, instanceId);
  if (instance.kind !== "accepted") return { kind: "wrong-instance", check: instance };
  const handled = clerkEventDataSchema(type);
  if (!handled) return { kind: "ignored" };
  // Session activity needs the client's IP and user agent, which Clerk puts in the envelope;
  // every event carries the instance, so the Inngest functions can refuse another one's.
  const data = {
    ...delivery.data,
    ...(handled.withHttpRequest && { http_request: httpRequest }),
    ...(instanceId !== undefined && { [instanceIdField]: instanceId }),
  };
  const parsed = handled.schema.safeParse(data);
  if (!parsed.success) return { kind: "invalid", errors: formatIssues(parsed.error.issues) };
  return { kind: "forward", event: { name: `clerk/${type}`, id: svixId, ts: timestamp, data }, objectId: (parsed.data as { id?: unknown }).id };
}
