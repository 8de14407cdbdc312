import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syncMetricsRoute } from "../../api/admin/_metrics.js";
import { syncStatusRoute } from "../../api/admin/_status.js";
import { createHealthHandler } from "../../api/health.js";
import { cachedSyncStatus } from "../../lib/ops/sync-figures.js";
import { createClerkWebhookHandler } from "../../lib/webhooks/clerk-webhook-handler.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { createLogger } from "../../lib/logger.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { createClerkWebhookVerifier } from "../../lib/webhooks/verify-clerk-webhook.js";
import { useTestApi } from "../support/api.js";
import { clerkEnvelope, clerkUser, signDelivery, testSigningSecret } from "../support/clerk-fixtures.js";
import { serveHandler } from "../support/http.js";
import { startInngestEventApi } from "../support/inngest-event-api.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
/** Inngest's Event API stood in on 127.0.0.1: what the status probes (INNGEST_BASE_URL). Started before the API reads its config. */
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let eventApiClosed = false;
beforeAll(async () => {
  eventApi = await startInngestEventApi();
});
afterAll(async () => {
  if (!eventApiClosed) await eventApi.close();
});
const api = useTestApi(db, () => ({ INNGEST_BASE_URL: eventApi.baseUrl }));
type Fetch = Awaited<ReturnType<typeof api.serve>>;
let status: Fetch;
let metrics: Fetch;
let healthUrl: string;
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

beforeAll(async () => {
  [status, metrics] = await Promise.all([api.serve(syncStatusRoute), api.serve(syncMetricsRoute)]);
  const services = () => api.state.services;
  const health = await serveHandler(createHealthHandler(async () => db.connection(), async () => (await services().syncHealth(services().config.status)).status));
  healthUrl = `${health.url}/api/health`;
});

beforeEach(async () => {
  const { store, reports } = api.state.services;
  await store.apply({ kind: "upsert", userId: "user_admin", snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_admin", updatedAt: 1, publicMetadata: { role: "admin" } }))) });
  await reports.start("run_recent", "cron", false, minutesAgo(12));
  await reports.finish("run_recent", { counts: { scanned: 10, created: 0, updated: 0, tombstoned: 0, unchanged: 10, failed: 0 } }, minutesAgo(10));
});

/** A webhook verified by the real endpoint, `minutes` ago, recorded the way production records it. */
async function webhookVerified(minutes: number) {
  await db.connection().collection("sync_heartbeats").updateOne({ _id: "webhook-verified" as never }, { $set: { at: minutesAgo(minutes) } }, { upsert: true });
}

describe("GET /api/admin/status and /api/health: a sync that is never silently stale", () => {
  it("is ok while webhooks arrive and are applied and reconciliation runs clean", async () => {
    await webhookVerified(1);
    // An event applied by the webhook path (the audit trail dates it).
    await api.state.services.store.apply({
      kind: "upsert",
      userId: "user_w",
      snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_w", updatedAt: 1 }))),
      origin: { source: "webhook", sourceEventId: "msg_1" },
    });
    const body = (await (await status("/api/admin/status", { as: "user_admin" })).json()) as { status: string; webhooks: { ageSeconds: number }; reasons: string[] };
    expect(body).toMatchObject({ status: "ok", reasons: [], outbox: { users: 2, oldestAgeSeconds: expect.any(Number) }, failedSyncsLast24h: 0, reconciliation: { status: "succeeded", repaired: 0 } });
    expect(body.webhooks.ageSeconds).toBeLessThan(120);
    expect(body).toMatchObject({ inngest: { kind: "reachable", latencyMs: expect.any(Number), lastReachableAgeSeconds: 0 } });
    expect((await fetch(healthUrl)).status).toBe(200);
    const text = await (await metrics("/api/admin/metrics", { as: "user_admin" })).text();
    expect(text).toContain("clerk_sync_inngest_reachable 1\n");
  });

  it("counts a forced run's rewrites as no divergence, but what it created or tombstoned as repairs", async () => {
    await webhookVerified(1);
    const { reports } = api.state.services;
    await reports.start("run_forced", "cli", false, minutesAgo(6), { force: true });
    await reports.finish("run_forced", { counts: { scanned: 10, created: 0, updated: 10, tombstoned: 0, unchanged: 0, failed: 0 } }, minutesAgo(5));
    const forced = (await (await status("/api/admin/status", { as: "user_admin" })).json()) as { reconciliation: { repaired: number } };
    expect(forced.reconciliation.repaired).toBe(0);
    await reports.start("run_forced_2", "cli", false, minutesAgo(4), { force: true });
    await reports.finish("run_forced_2", { counts: { scanned: 10, created: 1, updated: 9, tombstoned: 1, unchanged: 0, failed: 0 } }, minutesAgo(3));
    const repairing = (await (await status("/api/admin/status", { as: "user_admin" })).json()) as { reconciliation: { repaired: number } };
    expect(repairing.reconciliation.repaired).toBe(2);
  });

  it("turns stalled when webhooks stop, and /api/health says so (503, no details)", async () => {
    await webhookVerified(2 * 24 * 60);
    const response = await status("/api/admin/status", { as: "user_admin" });
    const body = (await response.json()) as { status: string; reasons: string[]; webhooks: { ageSeconds: number } };
    expect(body.status).toBe("stalled");
    expect(body.reasons).toContain("stalled: no verified Clerk webhook for 2880 min");
    expect(body.webhooks.ageSeconds).toBeGreaterThan(2 * 86_400 - 60);

    const health = await fetch(healthUrl);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: "stalled", checks: { database: { status: "ok", latencyMs: expect.any(Number) }, sync: { status: "stalled" } } });

    const text = await (await metrics("/api/admin/metrics", { as: "user_admin" })).text();
    expect(text).toContain("# TYPE clerk_sync_status gauge\nclerk_sync_status 2\n");
    expect(text).toMatch(/^clerk_sync_last_verified_webhook_age_seconds \d+/m);
  });

  it("records the heartbeat when the real webhook endpoint forwards a verified delivery", async () => {
    await webhookVerified(2 * 24 * 60);
    const beats: Promise<void>[] = [];
    const webhook = await serveHandler(
      createClerkWebhookHandler({
        verify: createClerkWebhookVerifier(testSigningSecret),
        sendEvent: async () => {},
        maxBodyBytes: 65_536,
        logger: createLogger("silent"),
        onForwarded: (at) => void beats.push(api.state.services.heartbeats.beat("webhook-verified", at)),
      }),
    );
    try {
      const body = JSON.stringify(clerkEnvelope("user.updated", clerkUser({ id: "user_x", updatedAt: 5 }), Date.now()));
      expect((await fetch(`${webhook.url}/api/webhooks/clerk`, { method: "POST", ...signDelivery(body, { id: "msg_beat" }) })).status).toBe(200);
      await Promise.all(beats);
    } finally {
      await webhook.close();
    }
    const after = (await (await status("/api/admin/status", { as: "user_admin" })).json()) as { webhooks: { ageSeconds: number } };
    expect(after.webhooks.ageSeconds).toBeLessThan(60);
  });

  it("is for admins only", async () => {
    await api.state.services.store.apply({ kind: "upsert", userId: "user_plain", snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_plain", updatedAt: 1 }))) });
    expect((await status("/api/admin/status", { as: "user_plain" })).status).toBe(403);
    expect((await metrics("/api/admin/metrics", { as: "user_plain" })).status).toBe(403);
  });
});

/** An event applied by the webhook path a moment ago, and a webhook just verified: everything else is ok. */
async function syncKeepingUp() {
  await webhookVerified(1);
  await api.state.services.store.apply({
    kind: "upsert",
    userId: "user_w",
    snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_w", updatedAt: 1 }))),
    origin: { source: "webhook", sourceEventId: "msg_1" },
  });
}

async function inngestReachedMinutesAgo(minutes: number) {
  await db.connection().collection("sync_heartbeats").updateOne({ _id: "inngest-reachable" as never }, { $set: { at: minutesAgo(minutes) } }, { upsert: true });
}

// Last in the file: it stops the Event API stand-in for good.
describe("Inngest reachability in the sync's status", () => {
  it("turns degraded when Inngest's Event API stops answering, stalled once unreached past STATUS_INNGEST_STALLED_MINUTES; /api/health keeps a probe a minute", async () => {
    await syncKeepingUp();
    const cachedHealth = await serveHandler(createHealthHandler(async () => db.connection(), cachedSyncStatus(api.state.services.config.status, 60_000)));
    try {
      expect((await fetch(`${cachedHealth.url}/api/health`)).status).toBe(200);

      await eventApi.close();
      eventApiClosed = true;
      const degraded = (await (await status("/api/admin/status", { as: "user_admin" })).json()) as { status: string; reasons: string[]; inngest: Record<string, unknown> };
      expect(degraded.status).toBe("degraded");
      expect(degraded.reasons).toEqual(["degraded: Inngest's Event API unreachable (ECONNREFUSED; last reached 0 min ago)"]);
      expect(degraded.inngest).toMatchObject({ kind: "unreachable", reason: "ECONNREFUSED", lastReachableAgeSeconds: expect.any(Number) });

      await inngestReachedMinutesAgo(30);
      const stalled = (await (await status("/api/admin/status", { as: "user_admin" })).json()) as { status: string; reasons: string[] };
      expect(stalled).toMatchObject({ status: "stalled", reasons: ["stalled: Inngest's Event API unreachable (ECONNREFUSED; last reached 30 min ago)"] });
      const text = await (await metrics("/api/admin/metrics", { as: "user_admin" })).text();
      expect(text).toContain("clerk_sync_status 2\n");
      expect(text).toContain("clerk_sync_inngest_reachable 0\n");
      expect(text).toMatch(/^clerk_sync_inngest_last_reachable_age_seconds 18\d\d/m);
      // The admin's live probe is what /api/health reports when it probes (here: without a cache).
      const live = await fetch(healthUrl);
      expect(live.status).toBe(503);
      expect(await live.json()).toMatchObject({ status: "stalled", checks: { sync: { status: "stalled" } } });

      // The cached check does not probe again within its minute: it still holds the answer it had.
      expect((await fetch(`${cachedHealth.url}/api/health`)).status).toBe(200);
    } finally {
      await cachedHealth.close();
    }
  });
});

