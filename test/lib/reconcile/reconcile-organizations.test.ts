import { beforeAll, describe, expect, it } from "vitest";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../../lib/clerk/organization-payload.js";
import { createLogger } from "../../../lib/logger.js";
import { runOrganizationReconciliation } from "../../../lib/reconcile/reconcile-organizations.js";
import { createSyncCore, type SyncCore } from "../../../lib/sync-core.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../../lib/sync/to-organization-snapshot.js";
import { useClerkBackendApi } from "../../support/clerk-backend-api.js";
import { clerkMembership, clerkOrganization } from "../../support/clerk-organization-fixtures.js";
import { testSecretKey } from "../../support/clerk-tokens.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const clerk = useClerkBackendApi(testSecretKey);
let core: SyncCore;
beforeAll(async () => {
  core = await createSyncCore(
    { mongo: db.config, clerk: { apiUrl: clerk().url, secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 10_000 } },
    { logger: createLogger("silent"), sendEvents: async () => {} },
  );
});

/** Puts an organization and its members in the Clerk stand-in. */
function inClerk(id: string, updatedAt: number, members: { userId: string; membershipId: string; role?: string; updatedAt?: number }[]) {
  clerk().organizations.set(id, clerkOrganization({ id, updatedAt, name: `${id} v${updatedAt}` }));
  clerk().memberships.set(
    id,
    new Map(members.map((member) => [member.userId, clerkMembership({ id: member.membershipId, organizationId: id, userId: member.userId, updatedAt: member.updatedAt ?? 10, role: member.role })])),
  );
}
const storedHere = async (id: string, updatedAt: number) =>
  core.organizationStore.apply({ kind: "upsert", organizationId: id, snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id, updatedAt }))) });
const memberHere = (organizationId: string, userId: string, membershipId: string) =>
  core.membershipStore.apply({ kind: "upsert", snapshot: toMembershipSnapshot(clerkMembershipSchema.parse(clerkMembership({ id: membershipId, organizationId, userId, updatedAt: 5 }))), at: new Date(1) });
const run = () => runOrganizationReconciliation({ ...core, directory: core.directory, logger: createLogger("silent") }, { runId: "run_orgs" });
const live = async (organizationId: string) => (await core.memberships.find({ organizationId, removedAt: null }).sort({ _id: 1 }).lean()).map((m) => `${m.userId}:${m.role}`);

describe("organization reconciliation against Clerk's Backend API", () => {
  it("creates missing organizations and memberships, updates stale ones, and is idempotent", async () => {
    inClerk("org_a", 20, [
      { userId: "user_1", membershipId: "orgmem_1", role: "org:admin" },
      { userId: "user_2", membershipId: "orgmem_2" },
    ]);
    await storedHere("org_a", 10);
    const first = await run();
    expect(first).toMatchObject({ organizationsScanned: 1, organizationsChanged: 1, membershipsScanned: 2, membershipsChanged: 2, membershipsRemoved: 0, failed: 0 });
    expect((await core.organizations.findById("org_a").lean())?.name).toBe("org_a v20");
    expect(await live("org_a")).toEqual(["user_1:org:admin", "user_2:org:member"]);
    expect(await run()).toMatchObject({ organizationsChanged: 0, membershipsChanged: 0, membershipsRemoved: 0 });
  });

  it("removes a member Clerk no longer lists (a lost organizationMembership.deleted)", async () => {
    inClerk("org_b", 10, [{ userId: "user_1", membershipId: "orgmem_b1" }]);
    await storedHere("org_b", 10);
    await memberHere("org_b", "user_1", "orgmem_b1");
    await memberHere("org_b", "user_gone", "orgmem_b2");
    expect(await run()).toMatchObject({ membershipsRemoved: 1 });
    expect(await live("org_b")).toEqual(["user_1:org:member"]);
  });

  it("tombstones an organization only once Clerk answers 404 for it, and ends its memberships", async () => {
    inClerk("org_kept", 10, []);
    await storedHere("org_gone", 10);
    await memberHere("org_gone", "user_1", "orgmem_g1");
    expect(await run()).toMatchObject({ organizationsTombstoned: 1 });
    expect((await core.organizations.findById("org_gone").lean())?.deletedAt).toBeInstanceOf(Date);
    expect(await live("org_gone")).toEqual([]);
    expect((await core.organizations.findById("org_kept").lean())?.deletedAt).toBeFalsy();
    expect(clerk().calls.filter((call) => call.path === "/v1/organizations/org_gone")).toHaveLength(1);
  });

  it("ends the live memberships of an organization never stored here once Clerk answers 404 for it (all its events lost)", async () => {
    inClerk("org_kept", 10, []);
    await memberHere("org_never_seen", "user_1", "orgmem_n1");
    expect(await live("org_never_seen")).toEqual(["user_1:org:member"]);
    expect(await run()).toMatchObject({ organizationsTombstoned: 1 });
    expect(await live("org_never_seen")).toEqual([]);
    expect((await core.organizations.findById("org_never_seen").lean())?.deletedAt).toBeInstanceOf(Date);
  });

  it("audits what it changes as the reconcile source, with the run id", async () => {
    inClerk("org_c", 10, [{ userId: "user_1", membershipId: "orgmem_c1" }]);
    await run();
    const audit = db.connection().collection("sync_audit");
    expect(await audit.countDocuments({ entity: "organization", userId: "org_c", source: "reconcile", sourceEventId: "run_orgs", decision: "applied" })).toBe(1);
    expect(await audit.countDocuments({ entity: "membership", userId: "org_c:user_1", source: "reconcile", decision: "applied" })).toBe(1);
  });
});
