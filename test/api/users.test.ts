import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { userByIdRoute } from "../../api/users/[id].js";
import { usersRoute } from "../../api/users/index.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser, type UserFixtureOptions } from "../support/clerk-fixtures.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);
type Fetch = Awaited<ReturnType<typeof api.serve>>;
let users: Fetch;
let userById: Fetch;
beforeAll(async () => {
  users = await api.serve(usersRoute);
  userById = await api.serve(userByIdRoute);
});

async function store(options: Partial<UserFixtureOptions> & { id: string }) {
  const payload = clerkUser({ updatedAt: 1_000, ...options });
  await api.state.services.store.apply({ kind: "upsert", userId: options.id, snapshot: toUserSnapshot(clerkUserSchema.parse(payload)) });
}

/** Admin by the stored public metadata (as synced from Clerk). */
const asAdmin = { as: "user_admin" };

beforeEach(async () => {
  await store({ id: "user_admin", emails: ["root@example.com"], firstName: "Root", publicMetadata: { role: "admin" } });
  await store({ id: "user_01", emails: ["alice@example.com"], firstName: "Alice", lastName: "Liddell" });
  await store({ id: "user_02", emails: ["bob@example.com"], firstName: "Bob", lastName: "Builder", banned: true });
  await store({ id: "user_03", emails: ["alicia@example.org"], firstName: "Alicia", lastName: "Keys" });
  await store({ id: "user_04", emails: ["carol@example.com"], firstName: "Carol", lastName: "Danvers" });
  await store({ id: "user_05", emails: ["dave@example.com"], firstName: "Dave" });
  await api.state.services.store.apply({ kind: "delete", userId: "user_05", deletedAt: new Date() });
});

const ids = async (response: Response) => ((await response.json()) as { data: { id: string }[] }).data.map((user) => user.id);

describe("GET /api/users (admins)", () => {
  it("lists live users in a stable order, paginated by cursor with no gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: Response = await users(`/api/users?limit=2${cursor ? `&cursor=${cursor}` : ""}`, asAdmin);
      expect(response.status).toBe(200);
      const page = (await response.json()) as { data: { id: string }[]; nextCursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((user) => user.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual(["user_01", "user_02", "user_03", "user_04", "user_admin"]);
    expect(pages).toBe(3);
  });

  it("searches by email or name prefix, case-insensitively for names", async () => {
    expect(await ids(await users("/api/users?q=ali", asAdmin))).toEqual(["user_01", "user_03"]);
    expect(await ids(await users("/api/users?q=alicia%40", asAdmin))).toEqual(["user_03"]);
    expect(await ids(await users("/api/users?q=KEYS", asAdmin))).toEqual(["user_03"]);
    expect(await ids(await users("/api/users?q=lice", asAdmin))).toEqual([]);
  });

  it("treats search text literally, never as a pattern", async () => {
    expect(await ids(await users("/api/users?q=.*", asAdmin))).toEqual([]);
    expect(await ids(await users(`/api/users?q=${encodeURIComponent("a|b")}`, asAdmin))).toEqual([]);
  });

  it("filters banned and deleted users", async () => {
    expect(await ids(await users("/api/users?banned=true", asAdmin))).toEqual(["user_02"]);
    expect(await ids(await users("/api/users?banned=false", asAdmin))).toEqual(["user_01", "user_03", "user_04", "user_admin"]);
    expect(await ids(await users("/api/users?deleted=true", asAdmin))).toEqual(["user_05"]);
    expect(await ids(await users("/api/users?deleted=any&limit=100", asAdmin))).toHaveLength(6);
  });

  it.each([
    ["an operator in brackets", "email[$gt]="],
    ["an operator on search", "q[$ne]=x"],
    ["an unknown parameter", "role=admin"],
    ["a repeated parameter", "q=a&q=b"],
    ["a limit over the bound", "limit=1000"],
    ["a limit below the bound", "limit=0"],
    ["a forged cursor", "cursor=%7B%22%24gt%22%3A%22%22%7D"],
    ["a bad filter value", "deleted=maybe"],
  ])("rejects %s with 400", async (_, query) => {
    const response = await users(`/api/users?${query}`, asAdmin);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { type: string }).type).toBe("/problems/invalid-query");
  });

  it("names each unknown or repeated parameter as a query parameter", async () => {
    const unknown = (await (await users("/api/users?role=admin&email[$gt]=&limit=2", asAdmin)).json()) as { errors: string[] };
    expect(unknown.errors).toEqual(["role: unknown query parameter", "email[$gt]: unknown query parameter"]);
    const repeated = (await (await users("/api/users?q=a&q=b&q=c", asAdmin)).json()) as { errors: string[] };
    expect(repeated.errors).toEqual(["q: given more than once"]);
    const proto = (await (await users("/api/users?__proto__=x", asAdmin)).json()) as { errors: string[] };
    expect(proto.errors).toEqual(["__proto__: unknown query parameter"]);
  });

  it("refuses non-admins with 403", async () => {
    const response = await users("/api/users", { as: "user_01" });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { type: string }).type).toBe("/problems/forbidden");
  });

  it("accepts an admin role from the session token's metadata claim", async () => {
    const token = await api.state.tokens.sign({ userId: "user_04", metadata: { role: "admin" } });
    expect((await users("/api/users", { token })).status).toBe(200);
  });

  it("refuses a banned admin", async () => {
    await store({ id: "user_admin", updatedAt: 2_000, publicMetadata: { role: "admin" }, banned: true });
    expect((await users("/api/users", asAdmin)).status).toBe(403);
  });
});

describe("GET /api/users/:id (admins)", () => {
  it("returns one user, deleted ones flagged", async () => {
    const live = await userById("/api/users/user_01", asAdmin);
    expect(await live.json()).toMatchObject({ id: "user_01", email: "alice@example.com", deleted: false });
    const deleted = await userById("/api/users/user_05", asAdmin);
    expect(await deleted.json()).toMatchObject({ id: "user_05", deleted: true });
  });

  it("answers 404 for an unknown id and 400 for something that is not an id", async () => {
    expect((await userById("/api/users/user_zzz", asAdmin)).status).toBe(404);
    expect((await userById(`/api/users/${encodeURIComponent('{"$ne":null}')}`, asAdmin)).status).toBe(400);
  });

  it.each([
    ["a malformed percent-escape (decodeURIComponent throws URIError)", "%ZZ"],
    ["a truncated escape", "user_01%E0%A4"],
    ["an encoded slash", "user_01%2Fhistory"],
    ["a NUL", "user%00"],
  ])("answers 400 problem+json naming the id, not 500, for %s", async (_, segment) => {
    const response = await userById(`/api/users/${segment}`, asAdmin);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ type: "/problems/invalid-path-parameter", errors: ["id: not a Clerk user id"] });
  });

  it("accepts the copy of the path segment Vercel adds to the query (`api/users/[id].ts` is routed as `?id=$1`)", async () => {
    expect((await userById("/api/users/user_01?id=user_01", asAdmin)).status).toBe(200);
  });

  it.each([
    ["an unknown parameter", "?expand=all", "expand: unknown query parameter"],
    ["an id other than the path's", "?id=user_02", "id: unknown query parameter"],
    ["an operator in brackets", "?id[$ne]=x", "id[$ne]: unknown query parameter"],
  ])("refuses %s with 400 naming it", async (_, query, error) => {
    const response = await userById(`/api/users/user_01${query}`, asAdmin);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: "/problems/invalid-query", errors: [error] });
  });
});
