import { describe, expect, it } from "vitest";
import { activityIdFor, sessionActivityFor } from "../../../lib/activity/session-activity.js";
import { type ClerkSession, clerkSessionSchema } from "../../../lib/clerk/session-payload.js";

const session = (overrides: Partial<ClerkSession> = {}): ClerkSession =>
  clerkSessionSchema.parse({
    id: "sess_1",
    object: "session",
    user_id: "user_1",
    status: "active",
    created_at: 1_000,
    updated_at: 4_000,
    last_active_at: 3_000,
    http_request: { client_ip: "198.51.100.4", user_agent: "curl/8" },
    ...overrides,
  });

describe("sessionActivityFor: what one Clerk session event records", () => {
  it("a session.created is a sign-in dated by created_at, and sets lastSignInAt", () => {
    expect(sessionActivityFor("session.created", session())).toEqual({
      entry: {
        _id: "sess_1:signed_in",
        userId: "user_1",
        kind: "signed_in",
        sessionId: "sess_1",
        at: new Date(1_000),
        clientIp: "198.51.100.4",
        userAgent: "curl/8",
      },
      user: { userId: "user_1", lastSignInAt: new Date(1_000), lastActiveAt: new Date(3_000) },
    });
  });

  it.each([
    ["session.ended", "ended"],
    ["session.removed", "removed"],
    ["session.revoked", "revoked"],
  ] as const)("a %s is dated by updated_at and never sets lastSignInAt", (type, kind) => {
    const { entry, user } = sessionActivityFor(type, session());
    expect(entry).toMatchObject({ _id: `sess_1:${kind}`, kind, at: new Date(4_000) });
    expect(user).toEqual({ userId: "user_1", lastSignInAt: null, lastActiveAt: new Date(3_000) });
  });

  it("falls back to updated_at for lastActiveAt when Clerk sends no last_active_at", () => {
    expect(sessionActivityFor("session.ended", session({ last_active_at: undefined })).user.lastActiveAt).toEqual(new Date(4_000));
  });

  it("stores null client details when the event has no http_request, or null values in it", () => {
    expect(sessionActivityFor("session.created", session({ http_request: undefined })).entry).toMatchObject({ clientIp: null, userAgent: null });
    expect(sessionActivityFor("session.created", session({ http_request: { client_ip: null } })).entry).toMatchObject({ clientIp: null, userAgent: null });
  });

  it("gives the same event the same id every time, and each kind of one session its own id", () => {
    expect(sessionActivityFor("session.created", session()).entry._id).toBe(sessionActivityFor("session.created", session({ updated_at: 9_999 })).entry._id);
    expect(new Set(["signed_in", "ended", "removed", "revoked"].map((kind) => activityIdFor("sess_1", kind as never))).size).toBe(4);
  });
});
