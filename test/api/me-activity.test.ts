import { beforeAll, describe, expect, it } from "vitest";
import { meActivityRoute } from "../../api/me/_activity.js";
import { createActivityStore } from "../../lib/activity/activity-store.js";
import type { ActivityEntry } from "../../lib/activity/session-activity.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);
let activity: Awaited<ReturnType<typeof api.serve>>;
beforeAll(async () => {
  activity = await api.serve(meActivityRoute);
});

interface Page {
  data: { kind: string; sessionId: string; at: string; clientIp: string | null; userAgent: string | null }[];
  nextCursor: string | null;
}

async function storedUser(id: string) {
  await api.state.services.store.apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1_000 }))) });
}

/** Records `count` sign-ins for `userId`, one a minute from `start`; every third pair shares a time. */
async function recordSignIns(userId: string, count: number, start = Date.UTC(2025, 0, 1)) {
  const store = createActivityStore(db.connection());
  const entries: ActivityEntry[] = Array.from({ length: count }, (_, index) => ({
    _id: `sess_${userId}_${String(index).padStart(3, "0")}:signed_in`,
    userId,
    kind: "signed_in",
    sessionId: `sess_${userId}_${String(index).padStart(3, "0")}`,
    at: new Date(start + Math.floor(index / 2) * 60_000 * (index % 3 === 0 ? 1 : 2)),
    clientIp: `203.0.113.${index % 250}`,
    userAgent: `UA ${userId}`,
  }));
  for (const entry of entries) await store.record(entry);
  return entries;
}

async function allPages(as: string, limit: number) {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const response = await activity(`/api/me/activity?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, { as });
    expect(response.status).toBe(200);
    const page = (await response.json()) as Page;
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor && pages.length < 50);
  return pages;
}

async function expectProblem(response: Response, status: number, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as { type: string; errors?: string[] };
  expect(body.type).toBe(type);
  return body;
}

describe("GET /api/me/activity", () => {
  it("returns the caller's activity newest first, with exactly the public fields", async () => {
    await storedUser("user_a");
    const store = createActivityStore(db.connection());
    await store.record({ _id: "sess_1:signed_in", userId: "user_a", kind: "signed_in", sessionId: "sess_1", at: new Date(1_000), clientIp: "203.0.113.7", userAgent: "UA" });
    await store.record({ _id: "sess_1:ended", userId: "user_a", kind: "ended", sessionId: "sess_1", at: new Date(2_000), clientIp: null, userAgent: null });
    const response = await activity("/api/me/activity", { as: "user_a" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      data: [
        { kind: "ended", sessionId: "sess_1", at: new Date(2_000).toISOString(), clientIp: null, userAgent: null },
        { kind: "signed_in", sessionId: "sess_1", at: new Date(1_000).toISOString(), clientIp: "203.0.113.7", userAgent: "UA" },
      ],
      nextCursor: null,
    });
  });

  it("pages through every record once, newest first, even when records share a time", async () => {
    await storedUser("user_a");
    const entries = await recordSignIns("user_a", 11);
    const pages = await allPages("user_a", 3);
    expect(pages.map((page) => page.data.length)).toEqual([3, 3, 3, 2]);
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const seen = pages.flatMap((page) => page.data);
    const expected = [...entries].sort((a, b) => b.at.getTime() - a.at.getTime() || (a._id < b._id ? 1 : -1));
    expect(new Set(expected.map((entry) => entry.at.getTime())).size).toBeLessThan(entries.length);
    expect(seen.map((record) => record.sessionId)).toEqual(expected.map((entry) => entry.sessionId));
  });

  it("returns 20 records by default and at most 100", async () => {
    await storedUser("user_a");
    await recordSignIns("user_a", 105);
    const first = (await (await activity("/api/me/activity", { as: "user_a" })).json()) as Page;
    expect(first.data).toHaveLength(20);
    expect(first.nextCursor).toEqual(expect.any(String));
    const max = (await (await activity("/api/me/activity?limit=100", { as: "user_a" })).json()) as Page;
    expect(max.data).toHaveLength(100);
  });

  it("answers an empty page to a user with no activity", async () => {
    await storedUser("user_a");
    expect(await (await activity("/api/me/activity", { as: "user_a" })).json()).toEqual({ data: [], nextCursor: null });
  });

  it("refuses a caller without a valid session token (401)", async () => {
    await expectProblem(await activity("/api/me/activity"), 401, "/problems/unauthenticated");
  });
});

describe("GET /api/me/activity: a user sees only their own records (IDOR)", () => {
  it("lists none of another user's records", async () => {
    await storedUser("user_a");
    await storedUser("user_b");
    await recordSignIns("user_a", 2);
    await recordSignIns("user_b", 3);
    const pages = await allPages("user_a", 100);
    expect(pages.flatMap((page) => page.data).map((record) => record.userAgent)).toEqual(["UA user_a", "UA user_a"]);
  });

  it("cannot choose whose records through the query string", async () => {
    await storedUser("user_a");
    await recordSignIns("user_b", 1);
    await expectProblem(await activity("/api/me/activity?userId=user_b", { as: "user_a" }), 400, "/problems/invalid-query");
  });

  it("a cursor taken from another user's page still lists only the caller's records", async () => {
    await storedUser("user_a");
    await storedUser("user_b");
    await recordSignIns("user_a", 3, Date.UTC(2025, 0, 1));
    await recordSignIns("user_b", 6, Date.UTC(2025, 0, 2));
    const bPage = (await (await activity("/api/me/activity?limit=2", { as: "user_b" })).json()) as Page;
    expect(bPage.nextCursor).toEqual(expect.any(String));
    const response = await activity(`/api/me/activity?cursor=${bPage.nextCursor}`, { as: "user_a" });
    expect(response.status).toBe(200);
    const records = ((await response.json()) as Page).data;
    expect(records).toHaveLength(3);
    expect(records.every((record) => record.userAgent === "UA user_a")).toBe(true);
  });
});

describe("GET /api/me/activity: the query string is strict", () => {
  it.each([
    ["an unknown parameter", "?page=2"],
    ["bracket syntax", "?limit[$gt]=1"],
    ["limit 0", "?limit=0"],
    ["limit 101", "?limit=101"],
    ["a non-numeric limit", "?limit=all"],
    ["a repeated parameter", "?limit=2&limit=3"],
    ["a forged cursor", `?cursor=${Buffer.from('{"$gt":""}').toString("base64url")}`],
    ["a cursor with operator characters", "?cursor=%24where"],
  ])("refuses %s with 400 /problems/invalid-query", async (_, query) => {
    await storedUser("user_a");
    await expectProblem(await activity(`/api/me/activity${query}`, { as: "user_a" }), 400, "/problems/invalid-query");
  });

  it("names the refused parameter in the problem", async () => {
    await storedUser("user_a");
    const body = await expectProblem(await activity("/api/me/activity?sort=at", { as: "user_a" }), 400, "/problems/invalid-query");
    expect(body.errors).toEqual(["sort: unknown query parameter"]);
  });
});
