import { beforeAll, describe, expect, it } from "vitest";
import { meExportRoute } from "../../api/me/export.js";
import { meRoute } from "../../api/me/index.js";
import { userByIdRoute } from "../../api/users/[id].js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser, type UserFixtureOptions } from "../support/clerk-fixtures.js";
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

  it("reads the caller from the token only: query parameters do not change who 'me' is", async () => {
    await storedUser({ id: "user_a" });
    await storedUser({ id: "user_b" });
    const response = await me("/api/me?id=user_b&userId=user_b", { as: "user_a" });
    expect(((await response.json()) as { id: string }).id).toBe("user_a");
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
    expect(api.state.clerk.calls).toContainEqual({ method: "DELETE", path: "/v1/users/user_del" });
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
  it("downloads everything stored about the caller as JSON", async () => {
    await storedUser({ id: "user_a", publicMetadata: { plan: "pro" } });
    await patchJson({ displayName: "Ada" });
    const response = await meExport("/api/me/export", { as: "user_a" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="account-export-user_a.json"');
    const body = (await response.json()) as { user: unknown; exportedAt: string };
    expect(body.user).toMatchObject({
      _id: "user_a",
      email: "user_a@example.com",
      publicMetadata: { plan: "pro" },
      profile: { displayName: "Ada" },
      clerkUpdatedAt: new Date(1_000).toISOString(),
    });
    expect(Date.parse(body.exportedAt)).not.toBeNaN();
  });
});
