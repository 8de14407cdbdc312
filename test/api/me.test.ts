import { beforeAll, describe, expect, it } from "vitest";
import { meExportRoute } from "../../api/me/_export.js";
import { activityModelFor } from "../../lib/activity/activity-model.js";
import { userExportSchema } from "../../lib/users/user-export.js";
import { meRoute } from "../../api/me/index.js";
import { userByIdRoute } from "../../api/users/[id].js";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../lib/clerk/organization-payload.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../lib/sync/to-organization-snapshot.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser, type UserFixtureOptions } from "../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../support/clerk-organization-fixtures.js";
import { rawRequest } from "../support/http.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);
type Fetch = Awaited<ReturnType<typeof api.serve>>;
let me: Fetch;
let meExport: Fetch;
let userById: Fetch;
beforeAll(async () => {
  me = await api.serve(meRoute);
  meExport = await api.serve(meExportRoute);
  userById = await api.serve(userByIdRoute);
});

/** A user as the webhooks would have stored it. */
async function storedUser(options: Partial<UserFixtureOptions> & { id: string }) {
  const payload = clerkUser({ updatedAt: 1_000, ...options });
  await api.state.services.store.apply({ kind: "upsert", userId: options.id, snapshot: toUserSnapshot(clerkUserSchema.parse(payload)) });
  return payload;
}

const patchJson = (body: unknown, as = "user_a") =>
  me("/api/me", { method: "PATCH", as, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function expectProblem(response: Response, status: number, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  expect(response.headers.get("location")).toBeNull();
  const body = (await response.json()) as { type: string; errors?: string[] };
  expect(body.type).toBe(type);
  return body;
}

describe("authentication: 401 problem+json, never a redirect", () => {
  it("accepts a valid session token", async () => {
    await storedUser({ id: "user_a" });
    expect((await me("/api/me", { as: "user_a" })).status).toBe(200);
  });

  it.each([
    ["no token", async () => undefined],
    ["an expired token", () => api.state.tokens.sign({ userId: "user_a", expiresIn: -30 })],
    ["a token not valid yet", () => api.state.tokens.sign({ userId: "user_a", notBefore: 120, issuedAt: 120 })],
    ["a token signed with another key", () => api.state.tokens.sign({ userId: "user_a", key: api.state.tokens.otherPrivateKey })],
    ["a token for another frontend (azp)", () => api.state.tokens.sign({ userId: "user_a", azp: "https://evil.example" })],
    ["a token with no azp", () => api.state.tokens.sign({ userId: "user_a", azp: null })],
    ["a garbage token", async () => "not.a.jwt"],
  ])("refuses %s", async (_, makeToken) => {
    const token = await makeToken();
    const response = await me("/api/me", token ? { token } : {});
    await expectProblem(response, 401, "/problems/unauthenticated");
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("refuses a browser navigation with only a stale session cookie, without redirecting", async () => {
    const expired = await api.state.tokens.sign({ userId: "user_a", expiresIn: -30 });
    const response = await me("/api/me", {
      redirect: "manual",
      headers: { cookie: `__session=${expired}; __client_uat=1`, "sec-fetch-dest": "document", accept: "text/html" },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("location")).toBeNull();
  });
});

describe("GET /api/me", () => {
  it("returns the caller's profile from MongoDB without asking Clerk", async () => {
    await storedUser({ id: "user_a", firstName: "Ada", emails: ["other@example.com", "ada@example.com"], primaryIndex: 1 });
    const response = await me("/api/me", { as: "user_a" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(await response.json()).toMatchObject({ id: "user_a", email: "ada@example.com", firstName: "Ada", deleted: false });
    expect(api.state.clerk.calls).toEqual([]);
  });

  it("fetches a user the webhook has not delivered yet from Clerk, and stores it", async () => {
    api.state.clerk.users.set("user_new", clerkUser({ id: "user_new", updatedAt: 5_000, firstName: "Late" }));
    const response = await me("/api/me", { as: "user_new" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: "user_new", firstName: "Late" });
    expect(await db.users().findById("user_new").lean()).toMatchObject({ firstName: "Late", clerkUpdatedAt: new Date(5_000) });
  });

  it("creates the user exactly once under 20 concurrent first requests", async () => {
    api.state.clerk.users.set("user_rush", clerkUser({ id: "user_rush", updatedAt: 5_000 }));
    api.state.clerk.setDelay(50);
    const token = await api.state.tokens.sign({ userId: "user_rush" });
    const responses = await Promise.all(Array.from({ length: 20 }, () => me("/api/me", { token })));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    expect(await db.users().countDocuments({ _id: "user_rush" })).toBe(1);
    expect(api.state.clerk.calls.filter((call) => call.method === "GET")).toHaveLength(1);
  });

  it("never re-creates a tombstoned user, even though Clerk still answers for it", async () => {
    await storedUser({ id: "user_gone" });
    await api.state.services.store.apply({ kind: "delete", userId: "user_gone", deletedAt: new Date() });
    api.state.clerk.users.set("user_gone", clerkUser({ id: "user_gone", updatedAt: 9_000 }));
    await expectProblem(await me("/api/me", { as: "user_gone" }), 410, "/problems/user-deleted");
    expect((await db.users().findById("user_gone").lean())?.deletedAt).toBeInstanceOf(Date);
  });

  it("answers 404 when Clerk has no such user either", async () => {
    await expectProblem(await me("/api/me", { as: "user_nowhere" }), 404, "/problems/not-found");
    expect(await db.users().countDocuments()).toBe(0);
  });

  it("answers 502 when Clerk's Backend API fails, and stores nothing", async () => {
    api.state.clerk.setFailing(true);
    await expectProblem(await me("/api/me", { as: "user_x" }), 502, "/problems/clerk-unavailable");
    expect(await db.users().countDocuments()).toBe(0);
  });

  it.each([["banned", { banned: true }], ["locked", { locked: true }]])("refuses a %s user with 403", async (_, flags) => {
    await storedUser({ id: "user_bad", ...flags });
    await expectProblem(await me("/api/me", { as: "user_bad" }), 403, "/problems/account-suspended");
  });

  it("records lastSeenAt once per interval, off the response path", async () => {
    await storedUser({ id: "user_seen" });
    expect((await me("/api/me", { as: "user_seen" })).status).toBe(200);
    await expect.poll(async () => (await db.users().findById("user_seen").lean())?.lastSeenAt).toBeInstanceOf(Date);
    const first = (await db.users().findById("user_seen").lean())?.lastSeenAt;
    for (let i = 0; i < 3; i += 1) expect((await me("/api/me", { as: "user_seen" })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await db.users().findById("user_seen").lean())?.lastSeenAt).toEqual(first);
  });
});

describe("PATCH /api/me", () => {
  it("edits app-owned profile fields and returns the result", async () => {
    await storedUser({ id: "user_a" });
    const response = await patchJson({ displayName: "Ada L.", bio: "Engines.", preferences: { theme: "dark", emailNotifications: false } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { profile: unknown }).profile).toEqual({ displayName: "Ada L.", bio: "Engines.", preferences: { theme: "dark", emailNotifications: false } });
    const cleared = await patchJson({ bio: null, preferences: { locale: "en-GB" } });
    expect(((await cleared.json()) as { profile: unknown }).profile).toEqual({ displayName: "Ada L.", preferences: { theme: "dark", emailNotifications: false, locale: "en-GB" } });
  });

  it.each([
    ["the id", { id: "user_b" }],
    ["the email", { email: "evil@example.com" }],
    ["names Clerk owns", { firstName: "Eve" }],
    ["flags", { banned: false }],
    ["roles", { publicMetadata: { role: "admin" } }],
    ["an operator", { $set: { banned: false } }],
    ["an unknown preference", { preferences: { theme: "dark", admin: true } }],
  ])("rejects mass assignment of %s with 400 naming the field", async (_, body) => {
    await storedUser({ id: "user_a" });
    const problem = await expectProblem(await patchJson(body), 400, "/problems/invalid-payload");
    expect(problem.errors?.join(" ")).toMatch(/Unrecognized key/);
    const doc = await db.users().findById("user_a").lean();
    expect(doc?.email).toBe("user_a@example.com");
    expect(doc?.banned).toBe(false);
  });

  it.each([
    ["an operator object as a value", { displayName: { $ne: null } }],
    ["a wrong type", { preferences: { emailNotifications: "yes" } }],
    ["an empty patch", {}],
    ["a too-long display name", { displayName: "x".repeat(81) }],
  ])("rejects %s with 400", async (_, body) => {
    await storedUser({ id: "user_a" });
    await expectProblem(await patchJson(body), 400, "/problems/invalid-payload");
  });

  it.each([
    ["a NUL in displayName", { displayName: "Ada\u0000" }, "displayName: must not contain control characters"],
    ["an escape sequence in displayName", { displayName: "\u001b[31mAda" }, "displayName: must not contain control characters"],
    ["a newline in displayName", { displayName: "Ada\nLovelace" }, "displayName: must not contain control characters"],
    ["a C1 control in displayName", { displayName: "Ada\u0085" }, "displayName: must not contain control characters"],
    ["a NUL in bio", { bio: "line\u0000" }, "bio: must not contain control characters other than tab and line breaks"],
    ["a bell in bio", { bio: "ding\u0007" }, "bio: must not contain control characters other than tab and line breaks"],
    ["a lone surrogate in bio", { bio: "half \ud83d" }, "bio: must be well-formed Unicode (no lone surrogates)"],
  ])("refuses %s with 400 naming the field, and stores nothing", async (_, body, error) => {
    await storedUser({ id: "user_a" });
    const problem = await expectProblem(await patchJson(body), 400, "/problems/invalid-payload");
    expect(problem.errors).toEqual([error]);
    expect((await db.users().findById("user_a").lean())?.profile).toBeUndefined();
  });

  it("keeps tabs and line breaks in bio, and emoji anywhere", async () => {
    await storedUser({ id: "user_a" });
    const bio = "Engines.\n\tAnalytical;\r\nDifference. 🚂";
    const response = await patchJson({ displayName: "Ada 🚂", bio });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { profile: unknown }).profile).toEqual({ displayName: "Ada 🚂", bio });
  });

  it.each([
    ["es-419", "es-419"],
    ["zh-Hant-TW", "zh-Hant-TW"],
    ["EN-gb", "en-GB"],
    ["de-DE-u-co-phonebk", "de-DE-u-co-phonebk"],
    ["sr-Latn", "sr-Latn"],
  ])("accepts the locale %s and stores it canonicalised (%s)", async (locale, canonical) => {
    await storedUser({ id: "user_a" });
    const response = await patchJson({ preferences: { locale } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { profile: { preferences: unknown } }).profile.preferences).toEqual({ locale: canonical });
    expect((await db.users().findById("user_a").lean())?.profile?.preferences?.locale).toBe(canonical);
  });

  it.each([["en_US"], ["x-private"], ["english please"], ["en-"], ["a".repeat(65)]])("refuses the locale %j with 400 naming the field", async (locale) => {
    await storedUser({ id: "user_a" });
    const problem = await expectProblem(await patchJson({ preferences: { locale } }), 400, "/problems/invalid-payload");
    expect(problem.errors?.[0]).toMatch(/^preferences\.locale: /);
  });

  it("refuses bytes that are not UTF-8 (400) instead of storing U+FFFD, and a charset other than UTF-8 (415)", async () => {
    await storedUser({ id: "user_a" });
    const sendBytes = (body: Uint8Array, contentType: string) =>
      me("/api/me", { method: "PATCH", as: "user_a", headers: { "content-type": contentType }, body });
    const invalid = Buffer.concat([Buffer.from('{"displayName":"Ad'), Buffer.from([0xff, 0xfe]), Buffer.from('a"}')]);
    const malformed = await expectProblem(await sendBytes(invalid, "application/json"), 400, "/problems/malformed-json");
    expect(malformed).toMatchObject({ detail: "The body is not valid UTF-8." });
    const overlong = Buffer.concat([Buffer.from('{"displayName":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]);
    await expectProblem(await sendBytes(overlong, "application/json"), 400, "/problems/malformed-json");
    expect((await db.users().findById("user_a").lean())?.profile).toBeUndefined();

    const utf16 = Buffer.from(JSON.stringify({ displayName: "Ada" }), "utf16le");
    await expectProblem(await sendBytes(utf16, "application/json; charset=utf-16"), 415, "/problems/unsupported-media-type");
    await expectProblem(await sendBytes(Buffer.from('{"displayName":"Ada"}', "latin1"), "application/json;charset=ISO-8859-1"), 415, "/problems/unsupported-media-type");
    expect((await sendBytes(Buffer.from('{"displayName":"Adá"}'), 'application/json; charset="UTF-8"')).status).toBe(200);
  });

  it("answers 413 at once to a Content-Length over the cap, without waiting for a body that never comes", async () => {
    await storedUser({ id: "user_a" });
    const token = await api.state.tokens.sign({ userId: "user_a" });
    const url = new URL((await me("/api/me", { token })).url);
    const started = performance.now();
    const answer = await rawRequest(url, [
      "PATCH /api/me HTTP/1.1",
      `Host: ${url.host}`,
      `Authorization: Bearer ${token}`,
      "Content-Type: application/json",
      "Content-Length: 1000000",
      "",
      '{"displayName":',
    ]);
    expect(answer.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
    expect(answer.headers.connection).toBe("close");
    expect(JSON.parse(answer.body)).toMatchObject({ type: "/problems/payload-too-large" });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("rejects malformed JSON (400), the wrong content type (415) and an oversized body (413)", async () => {
    await storedUser({ id: "user_a" });
    const send = (body: string, contentType: string) => me("/api/me", { method: "PATCH", as: "user_a", headers: { "content-type": contentType }, body });
    await expectProblem(await send("{displayName:", "application/json"), 400, "/problems/malformed-json");
    await expectProblem(await send("displayName=x", "application/x-www-form-urlencoded"), 415, "/problems/unsupported-media-type");
    await expectProblem(await send(JSON.stringify({ bio: "x".repeat(40_000) }), "application/json"), 413, "/problems/payload-too-large");
  });
});

describe("a user can never reach another user's data (IDOR)", () => {
  it("edits only the caller, whatever the body says", async () => {
    await storedUser({ id: "user_a" });
    await storedUser({ id: "user_b", firstName: "Bob" });
    expect((await patchJson({ _id: "user_b", displayName: "pwned" })).status).toBe(400);
    expect((await patchJson({ displayName: "Ada" })).status).toBe(200);
    expect((await db.users().findById("user_b").lean())?.profile).toBeUndefined();
  });

  it("cannot read another user through the admin route", async () => {
    await storedUser({ id: "user_a" });
    await storedUser({ id: "user_b" });
    await expectProblem(await userById("/api/users/user_b", { as: "user_a" }), 403, "/problems/forbidden");
  });

  it("reads the caller from the token only: a query naming another user is refused, never obeyed", async () => {
    await storedUser({ id: "user_a" });
    await storedUser({ id: "user_b" });
    const response = await me("/api/me?id=user_b&userId=user_b", { as: "user_a" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      type: "/problems/invalid-query",
      errors: ["id: unknown query parameter", "userId: unknown query parameter"],
    });
    const plain = await me("/api/me", { as: "user_a" });
    expect(((await plain.json()) as { id: string }).id).toBe("user_a");
  });
});

describe("DELETE /api/me", () => {
  it("deletes the account in Clerk and tombstones it here at once", async () => {
    await storedUser({ id: "user_del" });
    api.state.clerk.users.set("user_del", clerkUser({ id: "user_del", updatedAt: 1_000 }));
    const response = await me("/api/me", { method: "DELETE", as: "user_del" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ deleted: true, clerk: "deleted", localData: "tombstoned" });
    expect(api.state.clerk.users.has("user_del")).toBe(false);
    expect(api.state.clerk.calls).toContainEqual(expect.objectContaining({ method: "DELETE", path: "/v1/users/user_del" }));
    expect((await db.users().findById("user_del").lean())?.deletedAt).toBeInstanceOf(Date);
    await expectProblem(await me("/api/me", { as: "user_del" }), 410, "/problems/user-deleted");
  });

  it("answers 502 and keeps the account when Clerk fails", async () => {
    await storedUser({ id: "user_keep" });
    api.state.clerk.setFailing(true);
    await expectProblem(await me("/api/me", { method: "DELETE", as: "user_keep" }), 502, "/problems/clerk-unavailable");
    expect((await db.users().findById("user_keep").lean())?.deletedAt ?? null).toBeNull();
  });
});

describe("GET /api/me/export", () => {
  it("downloads the caller's personal data in the documented, versioned shape, and no internals", async () => {
    await storedUser({ id: "user_a", publicMetadata: { plan: "pro" } });
    await patchJson({ displayName: "Ada", preferences: { locale: "es-419" } });
    // Sync bookkeeping a raw document dump would leak: the outbox, the welcome-email claim.
    await db.users().collection.updateOne(
      { _id: "user_a" as never },
      { $set: { outbox: [{ id: "app/user.created:user_a", name: "app/user.created", data: {} }], welcomeEmail: { claimedAt: new Date(5), sentAt: new Date(6) }, lastSignInAt: new Date(7_000), __v: 3 } },
    );
    await activityModelFor(db.connection()).create([
      { _id: "sess_1:signed_in", userId: "user_a", kind: "signed_in", sessionId: "sess_1", at: new Date(2_000), clientIp: "203.0.113.9", userAgent: "Firefox" },
      { _id: "sess_1:ended", userId: "user_a", kind: "ended", sessionId: "sess_1", at: new Date(3_000), clientIp: null, userAgent: null },
      { _id: "sess_9:signed_in", userId: "user_b", kind: "signed_in", sessionId: "sess_9", at: new Date(2_500), clientIp: "198.51.100.1", userAgent: "Other" },
    ]);

    // Memberships: a live one, an ended one (its organization deleted), and someone else's.
    const { organizationStore, membershipStore } = api.state.services;
    for (const id of ["org_b", "org_a"]) {
      await organizationStore.apply({ kind: "upsert", organizationId: id, snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id, updatedAt: 1, name: `Org ${id}` }))) });
    }
    await storedUser({ id: "user_b" });
    const join = (organizationId: string, userId: string, role = "org:member", permissions: string[] = []) =>
      membershipStore.apply({ kind: "upsert", snapshot: toMembershipSnapshot(clerkMembershipSchema.parse(clerkMembership({ id: `orgmem_${organizationId}_${userId}`, organizationId, userId, createdAt: 4_000, updatedAt: 4_500, role, permissions }))), at: new Date(4_500) });
    await join("org_a", "user_a", "org:admin", ["org:sys_memberships:manage"]);
    await join("org_b", "user_a");
    await join("org_a", "user_b");
    await organizationStore.apply({ kind: "delete", organizationId: "org_b", deletedAt: new Date(8_000) });

    const response = await meExport("/api/me/export", { as: "user_a" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="account-export-user_a.json"');
    const body = (await response.json()) as Record<string, unknown>;
    expect(userExportSchema.parse(body)).toEqual(body);
    expect(Object.keys(body)).toEqual(["version", "exportedAt", "user", "activity", "memberships"]);
    expect(body.memberships).toEqual([
      {
        organization: { id: "org_a", name: "Org org_a", slug: "org-a" },
        role: "org:admin",
        permissions: ["org:sys_memberships:manage"],
        publicMetadata: {},
        joinedAt: new Date(4_000).toISOString(),
        updatedAt: new Date(4_500).toISOString(),
        removedAt: null,
      },
      {
        organization: { id: "org_b", name: null, slug: null },
        role: "org:member",
        permissions: [],
        publicMetadata: {},
        joinedAt: new Date(4_000).toISOString(),
        updatedAt: new Date(4_500).toISOString(),
        removedAt: new Date(8_000).toISOString(),
      },
    ]);
    expect(body).toMatchObject({
      version: 1,
      user: {
        id: "user_a",
        email: "user_a@example.com",
        publicMetadata: { plan: "pro" },
        profile: { displayName: "Ada", preferences: { locale: "es-419" } },
        clerkUpdatedAt: new Date(1_000).toISOString(),
        lastSignInAt: new Date(7_000).toISOString(),
        lastActiveAt: null,
      },
      activity: [
        { kind: "ended", sessionId: "sess_1", at: new Date(3_000).toISOString(), clientIp: null, userAgent: null },
        { kind: "signed_in", sessionId: "sess_1", at: new Date(2_000).toISOString(), clientIp: "203.0.113.9", userAgent: "Firefox" },
      ],
    });
    expect(Date.parse(body.exportedAt as string)).not.toBeNaN();
    const text = JSON.stringify(body);
    for (const internal of ["_id", "outbox", "welcomeEmail", "claimedAt", "__v", "deletedAt", "purgedAt", "user_b", "sess_9", "orgmem_", "generation"]) expect(text).not.toContain(internal);
  });

  it("refuses query parameters it does not take", async () => {
    await storedUser({ id: "user_a" });
    await expectProblem(await meExport("/api/me/export?format=csv", { as: "user_a" }), 400, "/problems/invalid-query");
  });
});
