import { beforeAll, describe, expect, it } from "vitest";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../../lib/clerk/organization-payload.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { createLogger } from "../../../lib/logger.js";
import { createSyncCore, type SyncCore } from "../../../lib/sync-core.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../../lib/sync/to-organization-snapshot.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../../support/clerk-organization-fixtures.js";
import { testSecretKey } from "../../support/clerk-tokens.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
let core: SyncCore;
beforeAll(async () => {
  core = await createSyncCore(
    { mongo: db.config, clerk: { apiUrl: "http://127.0.0.1:9", secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 50 } },
    { logger: createLogger("silent"), sendEvents: async () => {} },
  );
});

let sequence = 0;
const ids = () => {
  sequence += 1;
  return { org: `org_${sequence}`, user: `user_m${sequence}` };
};
const organization = (id: string, updatedAt: number) => core.organizationStore.apply({ kind: "upsert", organizationId: id, snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id, updatedAt }))) });
const deleteOrganization = (id: string) => core.organizationStore.apply({ kind: "delete", organizationId: id, deletedAt: new Date(5_000) });
const user = (id: string) => core.store.apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1 }))) });
const membership = (kind: "upsert" | "delete", options: Parameters<typeof clerkMembership>[0]) =>
  core.membershipStore.apply({ kind, snapshot: toMembershipSnapshot(clerkMembershipSchema.parse(clerkMembership(options))), at: new Date(options.updatedAt) });
const stored = (org: string, userId: string) => core.memberships.findById(`${org}:${userId}`).lean();

describe("memberships on a real MongoDB-wire server", () => {
  it("stores one document per (organization, user), with the role and the Clerk membership it reflects", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await user(userId);
    expect(await membership("upsert", { id: "orgmem_1", organizationId: org, userId, updatedAt: 10, role: "org:admin", permissions: ["org:sys_memberships:manage"] })).toEqual({ kind: "created" });
    expect(await stored(org, userId)).toMatchObject({ organizationId: org, userId, membershipId: "orgmem_1", role: "org:admin", permissions: ["org:sys_memberships:manage"], removedAt: null });
  });

  it("a member removed and re-added is a member again; a late event of the old membership changes nothing", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await user(userId);
    await membership("upsert", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 10 });
    await membership("delete", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 11 });
    expect((await stored(org, userId))?.removedAt).toBeInstanceOf(Date);
    expect(await membership("upsert", { id: "orgmem_new", organizationId: org, userId, createdAt: 20, updatedAt: 20, role: "org:admin" })).toEqual({ kind: "updated" });
    // Late deliveries of the old membership: an update and its removal, again.
    expect(await membership("upsert", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 99 })).toEqual({ kind: "skipped", reason: "superseded" });
    expect(await membership("delete", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 99 })).toEqual({ kind: "skipped", reason: "superseded" });
    expect(await stored(org, userId)).toMatchObject({ membershipId: "orgmem_new", role: "org:admin", removedAt: null });
  });

  it("an organization's deletion ends all its memberships, and a later membership event changes nothing", async () => {
    const { org, user: first } = ids();
    const second = `${first}_b`;
    await organization(org, 1);
    await Promise.all([user(first), user(second)]);
    await membership("upsert", { id: "orgmem_a", organizationId: org, userId: first, updatedAt: 10 });
    await membership("upsert", { id: "orgmem_b", organizationId: org, userId: second, updatedAt: 10 });
    await deleteOrganization(org);
    expect(await core.memberships.countDocuments({ organizationId: org, removedAt: null })).toBe(0);
    expect(await membership("upsert", { id: "orgmem_a", organizationId: org, userId: first, updatedAt: 50, role: "org:admin" })).toEqual({ kind: "skipped", reason: "organization-deleted" });
    expect(await membership("upsert", { id: "orgmem_c", organizationId: org, userId: `${first}_c`, updatedAt: 50 })).toEqual({ kind: "skipped", reason: "organization-deleted" });
    expect(await core.memberships.countDocuments({ organizationId: org, removedAt: null })).toBe(0);
  });

  it("a user's deletion ends their memberships, through whichever path delivered it", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await user(userId);
    await membership("upsert", { id: "orgmem_u", organizationId: org, userId, updatedAt: 10 });
    await core.store.apply({ kind: "delete", userId, deletedAt: new Date(6_000) });
    expect((await stored(org, userId))?.removedAt).toEqual(new Date(6_000));
    expect(await membership("upsert", { id: "orgmem_u", organizationId: org, userId, updatedAt: 60 })).toEqual({ kind: "skipped", reason: "user-deleted" });
  });

  it("a cascade interrupted by a crash is finished by the redelivery, which is a duplicate for the organization", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await user(userId);
    await membership("upsert", { id: "orgmem_x", organizationId: org, userId, updatedAt: 10 });
    // The tombstone landed, the cascade did not (a crash between the two writes).
    await core.organizations.updateOne({ _id: org }, { $set: { deletedAt: new Date(5_000) } });
    expect((await stored(org, userId))?.removedAt).toBeNull();
    expect(await deleteOrganization(org)).toEqual({ kind: "skipped", reason: "duplicate" });
    expect((await stored(org, userId))?.removedAt).toBeInstanceOf(Date);
  });

  it("membership writes racing the organization's deletion never leave a live member (20 rounds)", async () => {
    for (let round = 0; round < 20; round += 1) {
      const { org, user: userId } = ids();
      await organization(org, 1);
      await user(userId);
      await Promise.all([
        membership("upsert", { id: `orgmem_r${round}`, organizationId: org, userId, updatedAt: 10 }),
        deleteOrganization(org),
        membership("upsert", { id: `orgmem_r${round}`, organizationId: org, userId, updatedAt: 11, role: "org:admin" }),
      ]);
      expect(await core.memberships.countDocuments({ organizationId: org, removedAt: null })).toBe(0);
    }
  });

  it("audits every organization and membership decision", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await organization(org, 1);
    await user(userId);
    await membership("upsert", { id: "orgmem_audit", organizationId: org, userId, updatedAt: 10 });
    const audit = db.connection().collection("sync_audit");
    expect(await audit.find({ entity: "organization", userId: org }).project({ _id: 0, decision: 1, change: 1 }).toArray()).toEqual([
      { decision: "applied", change: "created" },
      { decision: "duplicate", change: null },
    ]);
    expect(await audit.countDocuments({ entity: "membership", userId: `${org}:${userId}`, decision: "applied", change: "created" })).toBe(1);
  });
});
