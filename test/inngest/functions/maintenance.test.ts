import { describe, expect, it } from "vitest";
import { createAuditLog } from "../../../lib/audit/audit-log.js";
import { createLogger } from "../../../lib/logger.js";
import { createSyncCore, type SyncCore } from "../../../lib/sync-core.js";
import { activityModelFor } from "../../../lib/activity/activity-model.js";
import { createRunReports } from "../../../lib/reconcile/run-reports.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../../lib/clerk/organization-payload.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../../lib/sync/to-organization-snapshot.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { useClerkBackendApi } from "../../support/clerk-backend-api.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../../support/clerk-organization-fixtures.js";
import { testSecretKey } from "../../support/clerk-tokens.js";
import { syncFunctionEngines, testSchedule } from "../../support/inngest.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const clerkApi = useClerkBackendApi(testSecretKey);

let core: Promise<SyncCore> | undefined;
/** The sync core as every entry point builds it, against the Clerk stand-in (app events go nowhere here). */
const maintenance = () =>
  (core ??= createSyncCore(
    { mongo: db.config, clerk: { apiUrl: clerkApi().url, secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 10_000 } },
    { logger: createLogger("silent"), sendEvents: async () => {} },
  ));
const { functions, inngest, engineById } = syncFunctionEngines(async () => createUserStore(db.users()), maintenance);
const store = (id: string, updatedAt = 1) =>
  createUserStore(db.users()).apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt }))) });

describe("scheduled and support functions, run by @inngest/test", () => {
  it("registers reconciliation hourly (and on demand) and the purge daily", () => {
    const byId = new Map(functions.map((fn) => [fn.id(inngest.id), fn["opts"] as { triggers: unknown[] }]));
    expect(byId.get("clerk-mongo-sync-test-reconcile-users")?.triggers).toEqual([
      { cron: testSchedule.reconcileCron },
      expect.objectContaining({ name: "app/users.reconcile.requested" }),
    ]);
    expect(byId.get("clerk-mongo-sync-test-purge-deleted-users")?.triggers).toEqual([{ cron: testSchedule.purgeCron }]);
  });

  it("reconcile-users repairs MongoDB in steps and records a run report", async () => {
    clerkApi().users.set("user_1", clerkUser({ id: "user_1", updatedAt: 5, createdAt: 1 }));
    clerkApi().users.set("user_2", clerkUser({ id: "user_2", updatedAt: 5, createdAt: 2 }));
    await store("user_2", 1);
    await store("user_gone");
    const { result, error, ctx } = await engineById("reconcile-users").execute({
      events: [{ name: "app/users.reconcile.requested", data: {} }],
    });
    expect(error).toBeUndefined();
    expect(result).toEqual({
      scanned: 2,
      created: 1,
      updated: 1,
      tombstoned: 1,
      unchanged: 0,
      failed: 0,
      organizations: { organizationsScanned: 0, organizationsChanged: 0, organizationsTombstoned: 0, membershipsScanned: 0, membershipsChanged: 0, membershipsRemoved: 0, failed: 0 },
      syncFailuresSincePreviousRun: 0,
    });
    expect(ctx.step.run).toHaveBeenCalledWith("scan-0", expect.any(Function));
    expect(ctx.step.run).toHaveBeenCalledWith("sweep-0", expect.any(Function));
    expect(ctx.step.run).toHaveBeenCalledWith("organizations-0", expect.any(Function));
    expect(ctx.step.run).toHaveBeenCalledWith("organizations-sweep", expect.any(Function));
    const [report] = await createRunReports(db.connection()).latest(1);
    expect(report).toMatchObject({
      trigger: "event",
      status: "succeeded",
      counts: { created: 1, updated: 1, tombstoned: 1 },
      syncFailuresSincePreviousRun: 0,
    });
    expect(report?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("purge-deleted-users erases personal data past retention and keeps the tombstone", async () => {
    await store("user_old");
    await store("user_recent");
    await store("user_live");
    const store_ = createUserStore(db.users());
    await store_.apply({ kind: "delete", userId: "user_old", deletedAt: new Date(Date.now() - 31 * 86_400_000) });
    await store_.apply({ kind: "delete", userId: "user_recent", deletedAt: new Date(Date.now() - 86_400_000) });
    const activity = activityModelFor(db.connection());
    await activity.create({ _id: "sess_old:signed_in", userId: "user_old", kind: "signed_in", sessionId: "sess_old", at: new Date(), clientIp: "203.0.113.9", userAgent: "test" });
    await activity.create({ _id: "sess_live:signed_in", userId: "user_live", kind: "signed_in", sessionId: "sess_live", at: new Date(), clientIp: null, userAgent: null });
    const audit = createAuditLog(db.connection(), () => new Date(Date.now() - 91 * 86_400_000));
    await audit.record([{ userId: "user_old", source: "webhook", sourceEventId: "msg_old", decision: "applied", change: "created" }]);
    const { result } = await engineById("purge-deleted-users").execute({ events: [{ name: "inngest/scheduled.timer", data: {} }] });
    expect(result).toEqual({ purged: 1, auditPurged: 1 });
    expect((await activity.find().lean()).map((record) => record.userId)).toEqual(["user_live"]);
    const old = await db.users().findById("user_old").lean();
    expect(Object.keys(old ?? {}).sort()).toEqual(["_id", "createdAt", "deletedAt", "purgedAt", "updatedAt"]);
    expect((await db.users().findById("user_recent").lean())?.email).toBe("user_recent@example.com");
    expect((await db.users().findById("user_live").lean())?.email).toBe("user_live@example.com");
    // A late webhook for the purged user still cannot bring it back.
    await expect(store("user_old", 99)).resolves.toEqual({ kind: "skipped", reason: "tombstoned" });
  });

  it("purge-deleted-users also erases the personal data of the purged users' ended memberships, keeping what orders late events", async () => {
    const services = await maintenance();
    await services.organizationStore.apply({ kind: "upsert", organizationId: "org_p", snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id: "org_p", updatedAt: 1 }))) });
    const join = (userId: string) =>
      services.membershipStore.apply({
        kind: "upsert",
        snapshot: toMembershipSnapshot(clerkMembershipSchema.parse({ ...clerkMembership({ id: `orgmem_${userId}`, organizationId: "org_p", userId, createdAt: 5, updatedAt: 10, role: "org:admin", permissions: ["org:x"] }), public_metadata: { title: "CFO" } })),
        at: new Date(10),
      });
    for (const userId of ["user_old", "user_recent", "user_live"]) {
      await store(userId);
      await join(userId);
    }
    // Deleted through the sync core: the deletion ends their memberships (and announces it in their outboxes).
    await services.store.apply({ kind: "delete", userId: "user_old", deletedAt: new Date(Date.now() - 31 * 86_400_000) });
    await services.store.apply({ kind: "delete", userId: "user_recent", deletedAt: new Date(Date.now() - 86_400_000) });

    const { result } = await engineById("purge-deleted-users").execute({ events: [{ name: "inngest/scheduled.timer", data: {} }] });
    expect(result).toMatchObject({ purged: 1 });
    const purged = await services.memberships.findById("org_p:user_old").lean();
    expect(Object.keys(purged ?? {}).sort()).toEqual(["_id", "clerkUpdatedAt", "createdAt", "generation", "membershipId", "organizationId", "purgedAt", "removedAt", "updatedAt", "userId"]);
    const recent = await services.memberships.findById("org_p:user_recent").lean();
    expect(recent).toMatchObject({ role: "org:admin", publicMetadata: { title: "CFO" } });
    expect(recent).not.toHaveProperty("purgedAt");
    expect(await services.memberships.findById("org_p:user_live").lean()).toMatchObject({ role: "org:admin", removedAt: null });
    // A late event of the purged membership still changes nothing.
    await expect(join("user_old")).resolves.toEqual({ kind: "skipped", reason: "user-deleted" });
    const again = await engineById("purge-deleted-users").execute({ events: [{ name: "inngest/scheduled.timer", data: {} }] });
    expect(again.result).toMatchObject({ purged: 0 });
  });

  it("reconcile-users with force rewrites users whose stored version is current, and records the run as forced", async () => {
    clerkApi().users.set("user_f", clerkUser({ id: "user_f", updatedAt: 5, createdAt: 1, firstName: "Mapped" }));
    await store("user_f", 5);
    await db.users().updateOne({ _id: "user_f" }, { $set: { firstName: "Old mapping" } });
    const { result, error } = await engineById("reconcile-users").execute({ events: [{ name: "app/users.reconcile.requested", data: { force: true, requestedBy: "user_admin" } as never }] });
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ scanned: 1, updated: 1, unchanged: 0 });
    expect((await db.users().findById("user_f").lean())?.firstName).toBe("Mapped");
    const [report] = await createRunReports(db.connection()).latest(1);
    expect(report).toMatchObject({ trigger: "event", force: true, requestedBy: "user_admin", status: "succeeded", progress: { phase: "done" } });
  });

  it("a dry run reports organization and membership drift and writes nothing", async () => {
    clerkApi().organizations.set("org_dry", clerkOrganization({ id: "org_dry", updatedAt: 5 }));
    clerkApi().memberships.set("org_dry", new Map([["user_m", clerkMembership({ id: "orgmem_dry", organizationId: "org_dry", userId: "user_m", updatedAt: 5 })]]));
    const { result, error } = await engineById("reconcile-users").execute({ events: [{ name: "app/users.reconcile.requested", data: { dryRun: true } }] });
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ organizations: { organizationsScanned: 1, organizationsChanged: 1, membershipsScanned: 1, membershipsChanged: 1 } });
    expect(await db.connection().collection("organizations").countDocuments()).toBe(0);
    expect(await db.connection().collection("memberships").countDocuments()).toBe(0);
  });

  it("a reconciliation run reports the syncs that failed for good since the previous run", async () => {
    const audit = createAuditLog(db.connection());
    await audit.record([{ userId: "user_x", source: "webhook", sourceEventId: "msg_x", decision: "failed", change: null, detail: "retries exhausted" }]);
    const { result } = await engineById("reconcile-users").execute({ events: [{ name: "app/users.reconcile.requested", data: {} }] });
    expect(result).toMatchObject({ syncFailuresSincePreviousRun: 1 });
    const [report] = await createRunReports(db.connection()).latest(1);
    expect(report?.syncFailuresSincePreviousRun).toBe(1);
  });

  it("resync-user re-applies one user from Clerk, and tombstones one Clerk no longer has", async () => {
    await store("user_r", 1);
    clerkApi().users.set("user_r", clerkUser({ id: "user_r", updatedAt: 7, firstName: "Fresh" }));
    const fresh = await engineById("resync-user").execute({ events: [{ name: "app/user.resync.requested", data: { userId: "user_r" } }] });
    expect(fresh.result).toEqual({ kind: "updated" });
    expect((await db.users().findById("user_r").lean())?.firstName).toBe("Fresh");

    clerkApi().users.delete("user_r");
    const gone = await engineById("resync-user").execute({ events: [{ name: "app/user.resync.requested", data: { userId: "user_r" } }] });
    expect(gone.result).toEqual({ kind: "deleted" });
  });
});
