import { describe, expect, it } from "vitest";
import { clerkDeliveryDecision } from "../../../lib/webhooks/clerk-delivery-event.js";
import { checkClerkInstance } from "../../../lib/webhooks/clerk-instance.js";
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

  it("the envelope's instance_id travels in the event's data, beside Clerk's own fields", () => {
    const data = clerkUser({ id: "user_1", updatedAt: 5 });
    expect(clerkDeliveryDecision(delivery("user.updated", data, { instanceId: "ins_prod" }))).toMatchObject({
      kind: "forward",
      event: { name: "clerk/user.updated", data: { ...data, instance_id: "ins_prod" } },
    });
  });

  it("with CLERK_INSTANCE_ID set, a delivery from another instance, or naming none, is refused whatever its type", () => {
    const data = clerkUser({ id: "user_1", updatedAt: 5 });
    expect(clerkDeliveryDecision(delivery("user.updated", data, { instanceId: "ins_dev" }), "ins_prod")).toEqual({
      kind: "wrong-instance",
      check: { kind: "other-instance", instanceId: "ins_dev", expectedInstanceId: "ins_prod" },
    });
    expect(clerkDeliveryDecision(delivery("email.created", {}, { instanceId: "ins_dev" }), "ins_prod").kind).toBe("wrong-instance");
    expect(clerkDeliveryDecision(delivery("user.updated", data), "ins_prod")).toEqual({ kind: "wrong-instance", check: { kind: "no-instance", expectedInstanceId: "ins_prod" } });
    expect(clerkDeliveryDecision(delivery("user.updated", data, { instanceId: "ins_prod" }), "ins_prod").kind).toBe("forward");
  });

  it("without CLERK_INSTANCE_ID every instance is accepted, as before", () => {
    expect(checkClerkInstance(undefined, "ins_any")).toEqual({ kind: "accepted" });
    expect(checkClerkInstance(undefined, undefined)).toEqual({ kind: "accepted" });
    expect(checkClerkInstance("ins_prod", "")).toEqual({ kind: "no-instance", expectedInstanceId: "ins_prod" });
    expect(checkClerkInstance("ins_prod", 42)).toEqual({ kind: "no-instance", expectedInstanceId: "ins_prod" });
  });
});
