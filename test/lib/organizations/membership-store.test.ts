import { beforeAll, describe, expect, it } from "vitest";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../../lib/clerk/organization-payload.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { createLogger } from "../../../lib/logger.js";
import { createSyncCore, type SyncCore } from "../../../lib/sync-core.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../../lib/sync/to-organization-snapshot.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import type { AppEvent } from "../../../lib/sync/types.js";
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

type Outboxed = { outbox?: AppEvent[] } | null;
const organizationOutbox = async (id: string) => ((await core.organizations.findById(id, { outbox: 1 }).lean()) as Outboxed)?.outbox ?? [];
const membershipOutbox = async (org: string, userId: string) => ((await core.memberships.findById(`${org}:${userId}`, { outbox: 1 }).lean()) as Outboxed)?.outbox ?? [];
const idsOf = (events: AppEvent[]) => events.map((event) => event.id);

describe("organization and membership app events, written with the change", () => {
  it("an organization's changes each put one event in its outbox; no-ops and fields consumers do not see put none", async () => {
    const { org } = ids();
    await organization(org, 1);
    await organization(org, 1); // duplicate
    // Clerk bumps updated_at for fields we do not keep (private metadata): nothing consumers see changed.
    await core.organizationStore.apply({ kind: "upsert", organizationId: org, snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse({ ...clerkOrganization({ id: org, updatedAt: 2 }), private_metadata: { other: 1 } })) });
    await core.organizationStore.apply({ kind: "upsert", organizationId: org, snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id: org, updatedAt: 3, name: "Renamed" }))) });
    await core.organizationStore.apply({ kind: "upsert", organizationId: org, snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id: org, updatedAt: 1 }))) }); // stale
    await deleteOrganization(org);
    await deleteOrganization(org); // duplicate
    const events = await organizationOutbox(org);
    expect(idsOf(events)).toEqual([`app/organization.created:${org}`, `app/organization.updated:${org}:3`, `app/organization.deleted:${org}`]);
    expect(events[1]?.data).toMatchObject({ organizationId: org, changedFields: ["name"], organization: { name: "Renamed" } });
    // A tombstone for an organization never seen announces nothing.
    await core.organizationStore.apply({ kind: "delete", organizationId: `${org}_unknown`, deletedAt: new Date(5_000) });
    expect(await organizationOutbox(`${org}_unknown`)).toEqual([]);
  });

  it("a membership's life: created, updated when its role changes, deleted, created again when re-added; late events of the old membership add nothing", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await user(userId);
    await membership("upsert", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 10 });
    await membership("upsert", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 10 }); // duplicate
    await membership("upsert", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 11 }); // nothing visible changed
    await membership("upsert", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 12, role: "org:admin" });
    await membership("delete", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 13 });
    await membership("upsert", { id: "orgmem_new", organizationId: org, userId, createdAt: 20, updatedAt: 20 });
    await membership("upsert", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 99 }); // superseded
    await membership("delete", { id: "orgmem_old", organizationId: org, userId, createdAt: 10, updatedAt: 99 }); // superseded
    const events = await membershipOutbox(org, userId);
    const key = `${org}:${userId}`;
    expect(idsOf(events)).toEqual([
      `app/membership.created:${key}:orgmem_old`,
      `app/membership.updated:${key}:orgmem_old:12`,
      `app/membership.deleted:${key}:orgmem_old`,
      `app/membership.created:${key}:orgmem_new`,
    ]);
    expect(events[1]?.data).toMatchObject({ organizationId: org, userId, changedFields: ["role"], membership: { role: "org:admin" } });
    expect(events[2]?.data).toMatchObject({ reason: "removed" });
  });

  it("an organization's deletion announces every membership it ends, once, with the reason; its redelivery adds nothing", async () => {
    const { org, user: first } = ids();
    const members = [first, `${first}_b`, `${first}_c`];
    await organization(org, 1);
    for (const [index, member] of members.entries()) {
      await user(member);
      await membership("upsert", { id: `orgmem_${index}`, organizationId: org, userId: member, updatedAt: 10 });
    }
    await membership("delete", { id: "orgmem_2", organizationId: org, userId: members[2]!, updatedAt: 11 }); // already removed: not ended again
    await deleteOrganization(org);
    await deleteOrganization(org);
    for (const [index, member] of members.entries()) {
      const ended = (await membershipOutbox(org, member)).filter((event) => event.name === "app/membership.deleted");
      expect(ended.map((event) => [event.id, event.data.reason])).toEqual([[`app/membership.deleted:${org}:${member}:orgmem_${index}`, index === 2 ? "removed" : "organization-deleted"]]);
    }
  });

  it("a user's deletion announces the memberships it ends, with the reason", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await organization(`${org}_b`, 1);
    await user(userId);
    await membership("upsert", { id: "orgmem_u1", organizationId: org, userId, updatedAt: 10 });
    await membership("upsert", { id: "orgmem_u2", organizationId: `${org}_b`, userId, updatedAt: 10 });
    await core.store.apply({ kind: "delete", userId, deletedAt: new Date(6_000) });
    await core.store.apply({ kind: "delete", userId, deletedAt: new Date(6_000) }); // redelivery: the cascade runs again, ends nothing
    for (const [organizationId, membershipId] of [[org, "orgmem_u1"], [`${org}_b`, "orgmem_u2"]] as const) {
      const ended = (await membershipOutbox(organizationId, userId)).filter((event) => event.name === "app/membership.deleted");
      expect(ended.map((event) => [event.id, event.data.reason])).toEqual([[`app/membership.deleted:${organizationId}:${userId}:${membershipId}`, "user-deleted"]]);
    }
  });

  it("membership writes racing the organization's deletion: every member announced is announced gone, and no id twice (20 rounds)", async () => {
    for (let round = 0; round < 20; round += 1) {
      const { org, user: userId } = ids();
      await organization(org, 1);
      await user(userId);
      await Promise.all([
        membership("upsert", { id: `orgmem_e${round}`, organizationId: org, userId, updatedAt: 10 }),
        deleteOrganization(org),
        membership("upsert", { id: `orgmem_e${round}`, organizationId: org, userId, updatedAt: 11, role: "org:admin" }),
      ]);
      const events = await membershipOutbox(org, userId);
      const count = (name: string) => events.filter((event) => event.name === name).length;
      expect(count("app/membership.created"), `round ${round}`).toBe(count("app/membership.deleted"));
      expect(count("app/membership.created"), `round ${round}`).toBeLessThanOrEqual(1);
      expect(new Set(idsOf(events)).size).toBe(events.length);
    }
  });

  it("audits every membership decision: applied, skipped (with the reason) and each membership a cascade ends", async () => {
    const { org, user: userId } = ids();
    await organization(org, 1);
    await user(userId);
    await membership("upsert", { id: "orgmem_a1", organizationId: org, userId, createdAt: 5, updatedAt: 10 });
    await membership("upsert", { id: "orgmem_a1", organizationId: org, userId, createdAt: 5, updatedAt: 10 });
    await membership("upsert", { id: "orgmem_a1", organizationId: org, userId, createdAt: 5, updatedAt: 9 });
    await membership("upsert", { id: "orgmem_a0", organizationId: org, userId, createdAt: 1, updatedAt: 50 });
    await deleteOrganization(org);
    await membership("upsert", { id: "orgmem_a1", organizationId: org, userId, createdAt: 5, updatedAt: 60 });
    const audit = db.connection().collection("sync_audit");
    expect(await audit.find({ entity: "membership", userId: `${org}:${userId}` }).sort({ _id: 1 }).project({ _id: 0, decision: 1, change: 1 }).toArray()).toEqual([
      { decision: "applied", change: "created" },
      { decision: "duplicate", change: null },
      { decision: "stale", change: null },
      { decision: "superseded", change: null },
      { decision: "applied", change: "deleted" },
      { decision: "organization-deleted", change: null },
    ]);
    expect(await audit.find({ entity: "organization", userId: org }).sort({ _id: 1 }).project({ _id: 0, decision: 1, change: 1 }).toArray()).toEqual([
      { decision: "applied", change: "created" },
      { decision: "applied", change: "deleted" },
    ]);
  });
});
