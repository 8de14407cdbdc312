import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconciliationRunsRoute } from "../../api/admin/_reconciliation-runs.js";
import { userHistoryRoute } from "../../api/users/[id]/_history.js";
import { resyncRoute } from "../../api/users/[id]/_resync.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { startInngestEventApi } from "../support/inngest-event-api.js";
import { useTestDatabase } from "../support/mongo.js";

let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
beforeAll(async () => {
  eventApi = await startInngestEventApi();
});
afterAll(() => eventApi.close());
const db = useTestDatabase();
const api = useTestApi(db, () => ({
  INNGEST_DEV: "0",
  INNGEST_EVENT_KEY: "test-event-key",
  INNGEST_SIGNING_KEY: "signkey-test-0123456789abcdef",
  INNGEST_BASE_URL: eventApi.baseUrl,
  INNGEST_SEND_TIMEOUT_MS: "2000",
}));
type Fetch = Awaited<ReturnType<typeof api.serve>>;
let runs: Fetch;
let resync: Fetch;
let userHistory: Fetch;
beforeAll(async () => {
  userHistory = await api.serve(userHistoryRoute);
  runs = await api.serve(reconciliationRunsRoute);
  resync = await api.serve(resyncRoute);
});

async function admin() {
  const payload = clerkUser({ id: "user_admin", updatedAt: 1, publicMetadata: { role: "admin" } });
  await api.state.services.store.apply({ kind: "upsert", userId: "user_admin", snapshot: toUserSnapshot(clerkUserSchema.parse(payload)) });
  await api.state.services.store.apply({
    kind: "upsert",
    userId: "user_plain",
    snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_plain", updatedAt: 1 }))),
  });
}

describe("admin operations", () => {
  it("lists the latest reconciliation runs", async () => {
    await admin();
    await api.state.services.reports.start("run_1", "cron", false, new Date(1_000));
    await api.state.services.reports.finish("run_1", { counts: { scanned: 3, created: 1, updated: 0, tombstoned: 0, unchanged: 2, failed: 0 } }, new Date(4_000));
    const response = await runs("/api/admin/reconciliation-runs", { as: "user_admin" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      data: [{ _id: "run_1", trigger: "cron", status: "succeeded", durationMs: 3_000, counts: { scanned: 3, created: 1 } }],
    });
  });

  it("starts a reconciliation on demand through Inngest", async () => {
    await admin();
    const response = await runs("/api/admin/reconciliation-runs", {
      method: "POST",
      as: "user_admin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ dryRun: true }),
    });
    expect(response.status).toBe(202);
    expect(eventApi.received.at(-1)).toMatchObject({ name: "app/users.reconcile.requested", data: { dryRun: true, requestedBy: "user_admin" } });
  });

  it("re-syncs one user from Clerk through Inngest", async () => {
    await admin();
    const response = await resync("/api/users/user_plain/resync", { method: "POST", as: "user_admin" });
    expect(response.status).toBe(202);
    expect(eventApi.received.at(-1)).toMatchObject({ name: "app/user.resync.requested", data: { userId: "user_plain" } });
  });

  it("answers 503 when Inngest cannot take the event", async () => {
    await admin();
    eventApi.setMode("fail");
    try {
      const response = await resync("/api/users/user_plain/resync", { method: "POST", as: "user_admin" });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { type: string }).type).toBe("/problems/event-bus-unavailable");
    } finally {
      eventApi.setMode("accept");
    }
  });

  it.each([
    ["failing (5xx)", "fail"],
    ["hanging", "hang"],
  ] as const)("answers 503 with Retry-After within 500 ms when Inngest is %s, not after the SDK's retries", async (_, mode) => {
    await admin();
    eventApi.setMode(mode);
    try {
      const token = await api.state.tokens.sign({ userId: "user_admin" });
      await resync("/api/users/user_plain/resync", { method: "POST", token }); // warm: the caller is resolved and cached
      const started = performance.now();
      const response = await resync("/api/users/user_plain/resync", { method: "POST", token });
      const elapsed = performance.now() - started;
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(((await response.json()) as { type: string }).type).toBe("/problems/event-bus-unavailable");
      expect(elapsed).toBeLessThan(500);
    } finally {
      eventApi.setMode("accept");
    }
  });

  it("history and resync answer 400 problem+json, not 500, for a malformed id (%ZZ: decodeURIComponent throws)", async () => {
    await admin();
    for (const response of [
      await userHistory("/api/users/%ZZ/history", { as: "user_admin" }),
      await resync("/api/users/%ZZ/resync", { method: "POST", as: "user_admin" }),
    ]) {
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ type: "/problems/invalid-path-parameter", errors: ["id: not a Clerk user id"] });
    }
    expect(eventApi.received.some((event) => event.name === "app/user.resync.requested" && event.data.userId === "%ZZ")).toBe(false);
  });

  it("history and resync refuse unknown query parameters by name, and accept Vercel's copy of the id", async () => {
    await admin();
    const history = await userHistory("/api/users/user_plain/history?limit=1&sort=asc", { as: "user_admin" });
    expect(history.status).toBe(400);
    expect(await history.json()).toMatchObject({ type: "/problems/invalid-query", errors: ["sort: unknown query parameter"] });
    const replay = await resync("/api/users/user_plain/resync?force=1", { method: "POST", as: "user_admin" });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ type: "/problems/invalid-query", errors: ["force: unknown query parameter"] });
    expect((await userHistory("/api/users/user_plain/history?id=user_plain&limit=1", { as: "user_admin" })).status).toBe(200);
    expect((await resync("/api/users/user_plain/resync?id=user_plain", { method: "POST", as: "user_admin" })).status).toBe(202);
  });

  it("shows one user's sync history, newest first, paginated", async () => {
    await admin();
    const audit = api.state.services.audit;
    for (let i = 0; i < 3; i += 1) {
      await audit.record([{ userId: "user_plain", source: "reconcile", sourceEventId: `run_${i}`, decision: "duplicate", change: null }]);
    }
    const first = await userHistory("/api/users/user_plain/history?limit=2", { as: "user_admin" });
    expect(first.status).toBe(200);
    const page = (await first.json()) as { data: { sourceEventId: string; decision: string }[]; nextCursor: string };
    // The store's own upsert of user_plain (in admin()) is the oldest record.
    expect(page.data.map((record) => record.sourceEventId)).toEqual(["run_2", "run_1"]);
    const second = (await (await userHistory(`/api/users/user_plain/history?limit=2&cursor=${page.nextCursor}`, { as: "user_admin" })).json()) as {
      data: { sourceEventId: string | null; decision: string }[];
      nextCursor: string | null;
    };
    expect(second.data.map((record) => record.decision)).toEqual(["duplicate", "applied"]);
    expect(second.nextCursor).toBeNull();
    expect((await userHistory("/api/users/user_plain/history?cursor=nope", { as: "user_admin" })).status).toBe(400);
  });

  it("is for admins only", async () => {
    await admin();
    expect((await runs("/api/admin/reconciliation-runs", { as: "user_plain" })).status).toBe(403);
    expect((await runs("/api/admin/reconciliation-runs", { method: "POST", as: "user_plain" })).status).toBe(403);
    expect((await resync("/api/users/user_admin/resync", { method: "POST", as: "user_plain" })).status).toBe(403);
    expect((await userHistory("/api/users/user_admin/history", { as: "user_plain" })).status).toBe(403);
  });
});
