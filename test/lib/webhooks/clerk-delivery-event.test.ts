import { describe, expect, it } from "vitest";
import { clerkDeliveryDecision } from "../../../lib/webhooks/clerk-delivery-event.js";
import type { VerifiedClerkDelivery } from "../../../lib/webhooks/verify-clerk-webhook.js";
import { clerkUser, clerkUserDeleted } from "../../support/clerk-fixtures.js";

const delivery = (type: string, data: unknown, extra: Partial<VerifiedClerkDelivery> = {}): VerifiedClerkDelivery => ({
  svixId: "msg_1",
  type,
  data: data as Record<string, unknown>,
  timestamp: 1_700_000_000_123,
  httpRequest: undefined,
  ...extra,
});

describe("what a verified Clerk delivery becomes", () => {
  it("a user event is forwarded as clerk/<type>, its id the Svix id and its ts the envelope timestamp", () => {
    const data = clerkUser({ id: "user_1", updatedAt: 5 });
    expect(clerkDeliveryDecision(delivery("user.created", data))).toEqual({
      kind: "forward",
      event: { name: "clerk/user.created", id: "msg_1", ts: 1_700_000_000_123, data },
      objectId: "user_1",
    });
    expect(clerkDeliveryDecision(delivery("user.deleted", clerkUserDeleted("user_1")))).toMatchObject({ kind: "forward", event: { name: "clerk/user.deleted" } });
  });

  it("a session event carries the envelope's client IP and user agent in its data", () => {
    const session = {
      object: "session",
      id: "sess_1",
      client_id: "client_1",
      user_id: "user_1",
      status: "active",
      created_at: 1,
      updated_at: 1,
      last_active_at: 1,
      expire_at: 2,
      abandon_at: 3,
    };
    const httpRequest = { client_ip: "203.0.113.7", user_agent: "Mozilla/5.0 (test)" };
    const decision = clerkDeliveryDecision(delivery("session.created", session, { httpRequest }));
    expect(decision).toMatchObject({ kind: "forward", event: { name: "clerk/session.created", data: { ...session, http_request: httpRequest } } });
  });

  it("a handled type whose data is not usable is invalid, with the reasons", () => {
    const decision = clerkDeliveryDecision(delivery("user.updated", { id: "user_1", object: "user" }));
    expect(decision.kind).toBe("invalid");
    expect(decision.kind === "invalid" && decision.errors.join(" ")).toMatch(/updated_at/);
  });

  it("a type the sync does not handle is ignored, whatever its data", () => {
    expect(clerkDeliveryDecision(delivery("organizationDomain.created", { anything: true }))).toEqual({ kind: "ignored" });
    expect(clerkDeliveryDecision(delivery("email.created", {}))).toEqual({ kind: "ignored" });
  });
});
