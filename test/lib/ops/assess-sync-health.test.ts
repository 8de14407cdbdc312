import { describe, expect, it } from "vitest";
import { assessSyncHealth, type SyncFigures, type SyncHealthThresholds } from "../../../lib/ops/assess-sync-health.js";

const now = new Date("2026-12-04T12:00:00Z");
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
const thresholds: SyncHealthThresholds = {
  webhookDegradedAfterMs: 360 * 60_000,
  webhookStalledAfterMs: 1_440 * 60_000,
  outboxStalledAfterMs: 30 * 60_000,
  reconciliationStalledAfterMs: 180 * 60_000,
  failedSyncsDegradedAt: 10,
};
const healthy: SyncFigures = {
  lastVerifiedWebhookAt: minutesAgo(2),
  lastAppliedEventAt: minutesAgo(2),
  lastReconciliation: { finishedAt: minutesAgo(20), status: "succeeded", repaired: 0 },
  outbox: { users: 0, oldestEventAt: null },
  failedSyncsLast24h: 0,
};
const assess = (changes: Partial<SyncFigures>) => assessSyncHealth({ ...healthy, ...changes }, thresholds, now);

describe("assessSyncHealth", () => {
  it("is ok when webhooks arrive and are applied, the outbox drains and reconciliation runs clean", () => {
    expect(assess({})).toEqual({ status: "ok", reasons: [] });
  });

  it("is stalled when webhooks stop (an endpoint misconfigured in Clerk's dashboard), degraded before", () => {
    expect(assess({ lastVerifiedWebhookAt: minutesAgo(400) }).status).toBe("degraded");
    expect(assess({ lastVerifiedWebhookAt: minutesAgo(1_500) })).toEqual({ status: "stalled", reasons: ["stalled: no verified Clerk webhook for 1500 min"] });
    // Never: a fresh deployment as often as a broken one.
    expect(assess({ lastVerifiedWebhookAt: null })).toEqual({ status: "degraded", reasons: ["degraded: no verified Clerk webhook yet"] });
  });

  it("is stalled when webhooks arrive but Inngest applies none of them", () => {
    const health = assess({ lastVerifiedWebhookAt: minutesAgo(1), lastAppliedEventAt: minutesAgo(500) });
    expect(health.status).toBe("stalled");
    expect(health.reasons).toEqual(["stalled: webhooks arrive but none applied for 499 min"]);
  });

  it("is stalled when app events sit in outboxes past the threshold, not before", () => {
    expect(assess({ outbox: { users: 3, oldestEventAt: minutesAgo(10) } }).status).toBe("ok");
    expect(assess({ outbox: { users: 3, oldestEventAt: minutesAgo(45) } }).status).toBe("stalled");
  });

  it("is stalled when reconciliation stopped running, degraded when it failed or had to repair", () => {
    expect(assess({ lastReconciliation: null }).status).toBe("degraded");
    expect(assess({ lastReconciliation: { finishedAt: minutesAgo(200), status: "succeeded", repaired: 0 } }).status).toBe("stalled");
    expect(assess({ lastReconciliation: { finishedAt: minutesAgo(20), status: "failed", repaired: 0 } }).status).toBe("degraded");
    expect(assess({ lastReconciliation: { finishedAt: minutesAgo(20), status: "succeeded", repaired: 4 } }).reasons).toEqual([
      "degraded: the last reconciliation repaired 4 divergence(s) the webhooks missed",
    ]);
  });

  it("is degraded when syncs fail for good, and reports the worst of several findings", () => {
    expect(assess({ failedSyncsLast24h: 10 }).status).toBe("degraded");
    const both = assess({ failedSyncsLast24h: 12, lastVerifiedWebhookAt: minutesAgo(2_000) });
    expect(both.status).toBe("stalled");
    expect(both.reasons).toHaveLength(2);
  });

  describe("Inngest reachability", () => {
    const probed = { ...thresholds, inngest: { eventApiUrl: "https://inn.gs/", probeTimeoutMs: 2_000, stalledAfterMs: 10 * 60_000 } };
    const reachable = { kind: "reachable" as const, checkedAt: now, httpStatus: 200, latencyMs: 12 };
    const unreachable = { kind: "unreachable" as const, checkedAt: now, reason: "ECONNREFUSED" };
    const assessInngest = (inngest: SyncFigures["inngest"]) => assessSyncHealth({ ...healthy, inngest }, probed, now);

    it("is ok when the probe reaches Inngest's Event API", () => {
      expect(assessInngest({ reachability: reachable, lastReachableAt: now })).toEqual({ status: "ok", reasons: [] });
    });

    it("is degraded when the probe fails but Inngest was reached within the threshold, stalled past it or if never reached", () => {
      expect(assessInngest({ reachability: unreachable, lastReachableAt: minutesAgo(3) })).toEqual({
        status: "degraded",
        reasons: ["degraded: Inngest's Event API unreachable (ECONNREFUSED; last reached 3 min ago)"],
      });
      expect(assessInngest({ reachability: unreachable, lastReachableAt: minutesAgo(11) })).toEqual({
        status: "stalled",
        reasons: ["stalled: Inngest's Event API unreachable (ECONNREFUSED; last reached 11 min ago)"],
      });
      expect(assessInngest({ reachability: unreachable, lastReachableAt: null }).reasons).toEqual(["stalled: Inngest's Event API unreachable (ECONNREFUSED; never reached)"]);
    });

    it("says nothing of Inngest when it was not probed", () => {
      expect(assessInngest(null)).toEqual({ status: "ok", reasons: [] });
      expect(assessSyncHealth({ ...healthy, inngest: { reachability: unreachable, lastReachableAt: null } }, thresholds, now).status).toBe("ok");
    });
  });
});
