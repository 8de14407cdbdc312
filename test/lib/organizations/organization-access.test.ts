import { beforeAll, describe, expect, it } from "vitest";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../../lib/clerk/organization-payload.js";
import { createLogger } from "../../../lib/logger.js";
import { type Caller, findMembership } from "../../../lib/organizations/organization-access.js";
import { createSyncCore, type SyncCore } from "../../../lib/sync-core.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../../lib/sync/to-organization-snapshot.js";
import type { AppEvent } from "../../../lib/sync/types.js";
import { clerkMembership, clerkOrganization } from "../../support/clerk-organization-fixtures.js";
import { testSecretKey } from "../../support/clerk-tokens.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
let core: SyncCore;
const sent: AppEvent[] = [];
beforeAll(async () => {
  core = await createSyncCore(
    { mongo: db.config, clerk: { apiUrl: "http://127.0.0.1:9", secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 50 } },
    { logger: createLogger("silent"), sendEvents: async (events) => void sent.push(...events) },
  );
});

const caller = (role: string, issuedAt: number, permissions: string[] = []): Caller => ({
  userId: "user_jit",
  token: { organization: { id: "org_jit", slug: "jit", role, permissions }, issuedAt: new Date(issuedAt) },
});
const outbox = async () => ((await core.memberships.findById("org_jit:user_jit", { outbox: 1 }).lean()) as { outbox?: AppEvent[] } | null)?.outbox ?? [];
const audited = () =>
  db.connection().collection("sync_audit").find({ entity: "membership", userId: "org_jit:user_jit" }).sort({ _id: 1 }).project({ _id: 0, source: 1, decision: 1, change: 1 }).toArray();

describe("memberships written just in time from a session token are announced and audited like any other", () => {
  it("creating from the token, then refreshing from a newer token, each writes its app event (source fallback) and an audit record", async () => {
    await core.organizationStore.apply({ kind: "upsert", organizationId: "org_jit", snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id: "org_jit", updatedAt: 1 }))) });
    expect(await findMembership(core, caller("org:member", 1_000), "org_jit")).not.toBeNull();
    expect(await findMembership(core, caller("org:member", 1_500), "org_jit")).not.toBeNull(); // same claims: nothing to write
    expect((await findMembership(core, caller("org:admin", 2_000, ["org:sys_memberships:manage"]), "org_jit"))?.membership.role).toBe("org:admin");
    // A stale token (older than what is stored) writes nothing.
    expect((await findMembership(core, caller("org:member", 1_800), "org_jit"))?.membership.role).toBe("org:admin");

    const events = await outbox();
    expect(events.map((event) => event.id)).toEqual([
      "app/membership.created:org_jit:user_jit:token:org_jit:user_jit",
      "app/membership.updated:org_jit:user_jit:token:org_jit:user_jit:2000",
    ]);
    expect(events[1]?.data).toMatchObject({ source: "fallback", changedFields: ["role", "permissions"], membership: { role: "org:admin", permissions: ["org:sys_memberships:manage"] } });
    expect(await audited()).toEqual([
      { source: "fallback", decision: "applied", change: "created" },
      { source: "fallback", decision: "applied", change: "updated" },
    ]);

    // Clerk's own event replaces the token's membership: same role and permissions, nothing new to announce.
    const fromClerk = clerkMembership({ id: "orgmem_jit", organizationId: "org_jit", userId: "user_jit", createdAt: 500, updatedAt: 2_500, role: "org:admin", permissions: ["org:sys_memberships:manage"] });
    expect(await core.membershipStore.apply({ kind: "upsert", snapshot: toMembershipSnapshot(clerkMembershipSchema.parse(fromClerk)), at: new Date(2_500) })).toEqual({ kind: "updated" });
    expect(await outbox()).toHaveLength(2);
    // The membership's publication sends what the token path left in the outbox too.
    expect(await core.outbox.publish(["org_jit:user_jit"], "memberships")).toBe(2);
    expect(sent.map((event) => event.id)).toEqual(events.map((event) => event.id));
  });
});
