import { expect } from "vitest";
import { clerkEnvelope, signDelivery } from "./clerk-fixtures.js";

export type InngestEvent = { name: string; id?: string; ts?: number; data: Record<string, unknown> };

/**
 * One Clerk event, delivered by one of the two ways Clerk feeds Inngest, as the event Inngest
 * then runs: through our signed webhook endpoint (which must answer 200 and hand it to the
 * Event API stand-in with the Svix id and the envelope timestamp), or Clerk's direct
 * "Connect to Inngest" path (`{ name: "clerk/" + type, data }`, no id, Inngest's receipt time).
 */
export async function deliverClerkEvent(
  event: { type: string; data: Record<string, unknown>; timestamp: number },
  delivery: { path: "webhook" | "direct"; svixId: string },
  endpoints: { webhookUrl: string; received: InngestEvent[] },
): Promise<InngestEvent> {
  if (delivery.path === "direct") return { name: `clerk/${event.type}`, data: event.data, ts: Date.now() };
  const body = JSON.stringify(clerkEnvelope(event.type, event.data, event.timestamp));
  const response = await fetch(`${endpoints.webhookUrl}/api/webhooks/clerk`, { method: "POST", ...signDelivery(body, { id: delivery.svixId }) });
  expect(response.status).toBe(200);
  const forwarded = endpoints.received.findLast((received) => received.id === delivery.svixId);
  if (!forwarded) throw new Error(`webhook ${delivery.svixId} did not reach the event API`);
  expect(forwarded.ts).toBe(event.timestamp);
  return forwarded;
}
