import type { MongoConfig } from "../../lib/config.js";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../lib/clerk/organization-payload.js";
import { closeMongoConnections } from "../../lib/db/connection.js";
import { createLogger } from "../../lib/logger.js";
import { createSyncCore } from "../../lib/sync-core.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../lib/sync/to-organization-snapshot.js";
import { clerkMembership, clerkOrganization } from "../support/clerk-organization-fixtures.js";

/**
 * What the fuzzer's callers find once signed in, written through the sync core's own stores (as
 * webhooks would): sign-in activity for `/api/me/activity` (more than a page, so `nextCursor` is
 * a real cursor), and organizations with memberships, so that `/api/me/organizations` lists them
 * and schemathesis reuses their ids for `/api/organizations/{id}` and its members (answers other
 * than 404). The users themselves exist already: the API stored them just in time.
 */
export async function seedFuzzData(mongo: MongoConfig, options: { activityUserId: string; memberIds: string[] }): Promise<{ close(): Promise<void> }> {
  const core = await createSyncCore(
    { mongo, clerk: { apiUrl: "http://127.0.0.1:9", secretKey: "sk_test_unused" }, reconcile: { maxClerkRequestsPer10Seconds: 1 } },
    { logger: createLogger("silent"), sendEvents: async () => undefined },
  );

  const start = Date.UTC(2025, 0, 1);
  for (let index = 0; index < 30; index += 1) {
    const sessionId = `sess_fuzz_${String(Math.floor(index / 2)).padStart(3, "0")}`;
    const kind = index % 2 ? "ended" : "signed_in";
    await core.activityStore.record({
      _id: `${sessionId}:${kind}`,
      userId: options.activityUserId,
      kind,
      sessionId,
      at: new Date(start + index * 3_600_000),
      clientIp: `203.0.113.${index}`,
      userAgent: "Mozilla/5.0 (seeded)",
    });
  }

  const organizations = ["org_fuzz_acme", "org_fuzz_globex"];
  for (const [index, id] of organizations.entries()) {
    const snapshot = toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id, updatedAt: 1 + index, name: `Fuzz ${id}` })));
    await core.organizationStore.apply({ kind: "upsert", organizationId: id, snapshot });
    for (const [memberIndex, userId] of options.memberIds.entries()) {
      const membership = clerkMembership({
        id: `orgmem_${id}_${memberIndex}`,
        organizationId: id,
        userId,
        updatedAt: 1,
        role: memberIndex === 0 ? "org:admin" : "org:member",
        permissions: memberIndex === 0 ? ["org:sys_memberships:manage"] : [],
      });
      await core.membershipStore.apply({ kind: "upsert", snapshot: toMembershipSnapshot(clerkMembershipSchema.parse(membership)), at: new Date() });
    }
  }

  return { close: closeMongoConnections };
}
