import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClerkWebhookHandler } from "../lib/webhooks/clerk-webhook-handler.js";
import { createInngestClient } from "../inngest/client.js";
import { createLogger } from "../lib/logger.js";
import { runOrganizationReconciliation } from "../lib/reconcile/reconcile-organizations.js";
import { createSyncCore, type SyncCore } from "../lib/sync-core.js";
import { createClerkWebhookVerifier } from "../lib/webhooks/verify-clerk-webhook.js";
import { clerkUser, clerkUserDeleted, testSigningSecret } from "./support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "./support/clerk-organization-fixtures.js";
import { startClerkBackendApi } from "./support/clerk-backend-api.js";
import { testSecretKey } from "./support/clerk-tokens.js";
import { serveHandler } from "./support/http.js";
import { startInngestEventApi } from "./support/inngest-event-api.js";
import { syncFunctionEngines, testInngestConfig } from "./support/inngest.js";
import { useTestDatabase } from "./support/mongo.js";
import { seededRandom } from "./support/random.js";
import { runPool } from "./support/run-pool.js";
import { deliverClerkEvent } from "./support/clerk-delivery.js";

/**
 * Organizations and memberships under the same faults as users: Clerk histories (orgs
 * renamed and deleted, members promoted, demoted, removed and re-added with a new
 * membership id, users deleted), every event delivered one to three times, shuffled, each
 * copy through the signed webhook endpoint or Clerk's direct path, one in ten lost for good,
 * applied by the real functions with runs of different keys in parallel, so an organization's
 * deletion races its memberships' events; then one reconciliation. The database must end equal
 * to Clerk: no member of a deleted organization, no deleted user a member, every other pair at
 * its newest membership.
 */

const organizationCount = Number(process.env.ORG_CONVERGENCE_ORGS ?? 40);
const seed = Number(process.env.ORG_CONVERGENCE_SEED ?? 17);

interface ClerkEvent {
  type: string;
  data: Record<string, unknown>;
  timestamp: number;
  /** Inngest's concurrency key for it: runs with one key never overlap. */
  key: string;
}
interface PairTruth {
  organizationId: string;
  userId: string;
  /** `null`: not a member at the end. */
  live: { membershipId: string; role: string } | null;
  /** What Clerk's Backend API lists for the pair at the end. */
  newest: Record<string, unknown> | null;
}

function generate(random: ReturnType<typeof seededRandom>) {
  const events: ClerkEvent[] = [];
  const organizations: { id: string; name: string; deleted: boolean; newest: Record<string, unknown> }[] = [];
  const pairs: PairTruth[] = [];
  const users = Array.from({ length: organizationCount * 2 }, (_, index) => `user_oc${String(index).padStart(4, "0")}`);
  const deletedUsers = new Set(users.filter(() => random.chance(0.1)));
  const start = Date.UTC(2026, 0, 1);
  for (const userId of users) events.push({ type: "user.created", data: clerkUser({ id: userId, createdAt: start, updatedAt: start }) as never, timestamp: start, key: userId });

  for (let index = 0; index < organizationCount; index += 1) {
    const id = `org_oc${String(index).padStart(4, "0")}`;
    let time = start + 1_000 + random.int(86_400_000);
    let name = `Org ${index}`;
    let newestOrganization = clerkOrganization({ id, createdAt: time, updatedAt: time, name }) as never as Record<string, unknown>;
    events.push({ type: "organization.created", data: newestOrganization, timestamp: time, key: id });
    for (let update = 0; update < 1 + random.int(3); update += 1) {
      time += 1 + random.int(60_000);
      name = `Org ${index} v${update}`;
      newestOrganization = clerkOrganization({ id, createdAt: start, updatedAt: time, name }) as never as Record<string, unknown>;
      events.push({ type: "organization.updated", data: newestOrganization, timestamp: time, key: id });
    }

    const members = random.sample(users.length, 2 + random.int(4)).map((userIndex) => users[userIndex] as string);
    for (const userId of members) {
      const key = `${id}:${userId}`;
      let current: { membershipId: string; role: string } | null = null;
      let newest: Record<string, unknown> | null = null;
      for (let generation = 0; generation < 1 + random.int(2); generation += 1) {
        const membershipId = `orgmem_${index}_${userId}_${generation}`;
        time += 1 + random.int(60_000);
        const createdAt = time;
        let role = "org:member";
        newest = clerkMembership({ id: membershipId, organizationId: id, userId, createdAt, updatedAt: time, role }) as never;
        events.push({ type: "organizationMembership.created", data: newest as never, timestamp: time, key });
        for (let change = 0; change < random.int(3); change += 1) {
          time += 1 + random.int(60_000);
          role = role === "org:member" ? "org:admin" : "org:member";
          newest = clerkMembership({ id: membershipId, organizationId: id, userId, createdAt, updatedAt: time, role }) as never;
          events.push({ type: "organizationMembership.updated", data: newest as never, timestamp: time, key });
        }
        current = { membershipId, role };
        if (random.chance(0.4)) {
          time += 1 + random.int(60_000);
          events.push({ type: "organizationMembership.deleted", data: clerkMembership({ id: membershipId, organizationId: id, userId, createdAt, updatedAt: time, role }) as never, timestamp: time, key });
          current = null;
          newest = null;
        }
      }
      pairs.push({ organizationId: id, userId, live: current, newest });
    }

    const deleted = random.chance(0.25);
    if (deleted) {
      time += 1 + random.int(60_000);
      // Clerk promises no membership.deleted per member: the deletion alone must end them all.
      events.push({ type: "organization.deleted", data: { object: "organization", id, deleted: true }, timestamp: time, key: id });
    }
    organizations.push({ id, name, deleted, newest: newestOrganization });
  }
  const late = start + 10 * 86_400_000;
  for (const userId of deletedUsers) events.push({ type: "user.deleted", data: clerkUserDeleted(userId) as never, timestamp: late, key: userId });

  const deletedOrganizations = new Set(organizations.filter((organization) => organization.deleted).map((organization) => organization.id));
  for (const pair of pairs) {
    if (!deletedOrganizations.has(pair.organizationId) && !deletedUsers.has(pair.userId)) continue;
    pair.live = null;
    pair.newest = null;
  }
  return { events, organizations, pairs };
}

const db = useTestDatabase();
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let webhook: Awaited<ReturnType<typeof serveHandler>>;
let core: SyncCore;
let clerk: Awaited<ReturnType<typeof startClerkBackendApi>>;

beforeAll(async () => {
  clerk = await startClerkBackendApi(testSecretKey);
  eventApi = await startInngestEventApi();
  const inngest = createInngestClient({ ...testInngestConfig, baseUrl: eventApi.baseUrl }, createLogger("silent"));
  webhook = await serveHandler(
    createClerkWebhookHandler({ verify: createClerkWebhookVerifier(testSigningSecret), sendEvent: (event) => inngest.send(event), maxBodyBytes: 512 * 1024, logger: createLogger("silent") }),
  );
  core = await createSyncCore(
    { mongo: db.config, clerk: { apiUrl: clerk.url, secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 100_000 } },
    { logger: createLogger("silent"), sendEvents: async () => {} },
  );
});
afterAll(async () => {
  await webhook.close();
  await eventApi.close();
  await clerk?.close();
});

const functionFor = (type: string) =>
  type.startsWith("organizationMembership.") ? "sync-clerk-membership" : type.startsWith("organization.") ? "sync-clerk-organization" : `sync-clerk-${type.replace(".", "-")}`;

describe("organizations and memberships converge under shuffled, duplicated deliveries through both paths", () => {
  it(`the database equals Clerk for ${organizationCount} organizations and their members`, async () => {
    const random = seededRandom(seed);
    const { events, organizations, pairs } = generate(random);
    // One event in ten is lost for good (every Svix retry failed); the others arrive one to three times.
    let lost = 0;
    const deliveries = random.shuffle(
      events.flatMap((event, index) => {
        if (random.chance(0.1)) {
          lost += 1;
          return [];
        }
        return Array.from({ length: 1 + random.int(3) }, () => ({ event, path: random.chance(0.5) ? ("webhook" as const) : ("direct" as const), svixId: `msg_org_${index}` }));
      }),
    );
    const { engineById } = syncFunctionEngines(async () => core.store, async () => core);
    const outcomes = new Map<string, number>();

    await runPool(deliveries, ({ event }) => event.key, async ({ event, path, svixId }) => {
      const inngestEvent = await deliverClerkEvent(event, { path, svixId }, { webhookUrl: webhook.url, received: eventApi.received });
      const { result, error } = await engineById(functionFor(event.type)).execute({ events: [inngestEvent as never] });
      if (error) throw new Error(`run failed: ${JSON.stringify(error)}`);
      const outcome = result as { kind: string; reason?: string };
      const label = `${event.type.split(".")[0]}:${outcome.kind}${outcome.reason ? `:${outcome.reason}` : ""}`;
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    });

    // Then one reconciliation against Clerk's Backend API, which holds the end state.
    for (const organization of organizations) if (!organization.deleted) clerk.organizations.set(organization.id, organization.newest as never);
    for (const pair of pairs) {
      if (!pair.newest) continue;
      const members = clerk.memberships.get(pair.organizationId) ?? new Map();
      members.set(pair.userId, pair.newest as never);
      clerk.memberships.set(pair.organizationId, members);
    }
    const reconciled = await runOrganizationReconciliation(core, { runId: "run_convergence" });

    const divergences: string[] = [];
    const storedOrganizations = new Map((await core.organizations.find().lean()).map((doc) => [doc._id, doc]));
    for (const organization of organizations) {
      const doc = storedOrganizations.get(organization.id);
      if (organization.deleted !== Boolean(doc?.deletedAt)) divergences.push(`${organization.id}: deleted in Clerk ${organization.deleted}, here ${Boolean(doc?.deletedAt)}`);
      else if (!organization.deleted && doc?.name !== organization.name) divergences.push(`${organization.id}: name ${doc?.name}, Clerk ${organization.name}`);
    }
    const storedMemberships = new Map((await core.memberships.find().lean()).map((doc) => [doc._id, doc]));
    for (const pair of pairs) {
      const doc = storedMemberships.get(`${pair.organizationId}:${pair.userId}`);
      const live = doc && !doc.removedAt ? { membershipId: doc.membershipId, role: doc.role } : null;
      try {
        expect(live).toEqual(pair.live);
      } catch {
        divergences.push(`${pair.organizationId}:${pair.userId}: here ${JSON.stringify(live)}, Clerk ${JSON.stringify(pair.live)}`);
      }
    }

    console.log(
      `organization convergence: ${JSON.stringify(
        {
          organizations: organizations.length,
          deletedOrganizations: organizations.filter((organization) => organization.deleted).length,
          memberships: pairs.length,
          membersAtTheEnd: pairs.filter((pair) => pair.live).length,
          clerkEvents: events.length,
          deliveries: deliveries.length,
          lostEvents: lost,
          reconciliation: reconciled,
          outcomes: Object.fromEntries([...outcomes.entries()].sort()),
          divergences: divergences.length,
        },
        null,
        2,
      )}`,
    );
    expect(divergences).toEqual([]);
    expect(pairs.some((pair) => pair.live)).toBe(true);
  }, 600_000);
});
