import { readFileSync } from "node:fs";
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInngestClient } from "../../inngest/client.js";
import { createFunctions } from "../../inngest/functions/index.js";
import { createLogger } from "../../lib/logger.js";
import { createSyncCore, type SyncCore } from "../../lib/sync-core.js";
import { createClerkWebhookHandler } from "../../lib/webhooks/clerk-webhook-handler.js";
import { createClerkWebhookVerifier } from "../../lib/webhooks/verify-clerk-webhook.js";
import { deliverClerkEvent, type InngestEvent } from "../support/clerk-delivery.js";
import { clerkEnvelope, clerkUser, testSigningSecret } from "../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../support/clerk-organization-fixtures.js";
import { testSecretKey } from "../support/clerk-tokens.js";
import { serveHandler } from "../support/http.js";
import { testInngestConfig, testSchedule } from "../support/inngest.js";
import { startInngestEventApi } from "../support/inngest-event-api.js";
import { useTestDatabase } from "../support/mongo.js";

/**
 * The wrong-instance guard on the Inngest side, through the real functions and the real SDK
 * engine: events delivered by our webhook endpoint (real Svix signatures, forwarded through
 * Inngest's Event API stood in) and by Clerk's direct path (the README's transform, run as is).
 * `clerkEnvelope` says Clerk instance `ins_test`: that is "ours" here.
 */
const db = useTestDatabase();
const ours = "ins_test";
let core: SyncCore;
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let webhook: Awaited<ReturnType<typeof serveHandler>>;
/** Error lines logged through the client (pino JSON): the guard's, and the SDK's own for each failed run. */
const logged: Record<string, unknown>[] = [];
/** The guard's own lines: the ones that name the expected instance. */
const guardErrors = () => logged.filter((line) => "expectedInstanceId" in line);

beforeAll(async () => {
  const logger = createLogger("silent");
  eventApi = await startInngestEventApi();
  const sender = createInngestClient({ ...testInngestConfig, baseUrl: eventApi.baseUrl }, logger);
  // Our endpoint without CLERK_INSTANCE_ID: it forwards any instance, so the functions' guard is what is tested.
  webhook = await serveHandler(
    createClerkWebhookHandler({ verify: createClerkWebhookVerifier(testSigningSecret), sendEvent: (event) => sender.send(event), maxBodyBytes: 65_536, logger }),
  );
});
afterAll(async () => {
  await webhook.close();
  await eventApi.close();
});
beforeEach(async () => {
  // The test database is connected afresh for each test.
  core = await createSyncCore(
    { mongo: db.config, clerk: { apiUrl: "http://127.0.0.1:9", secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 50 } },
    { logger: createLogger("silent"), connection: db.connection(), sendEvents: async () => {} },
  );
  logged.length = 0;
  eventApi.received.length = 0;
});

/** The real functions on a client with (or without) CLERK_INSTANCE_ID; a fresh engine per run. */
function functionsGuardedBy(expectedInstanceId: string | undefined) {
  const logger = createLogger("error", { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
  const inngest = createInngestClient(testInngestConfig, logger, { clerkInstance: { expectedInstanceId, audit: async () => core.audit } });
  const functions = createFunctions(inngest, {
    users: async () => core.store,
    outbox: async () => core.outbox,
    audit: async () => core.audit,
    maintenance: async () => core,
    activity: async () => core.activityStore,
    publisher: async () => null,
    welcomeEmail: { users: () => Promise.reject(new Error("no welcome email here")), mailer: () => Promise.reject(new Error("no welcome email here")) },
    schedule: testSchedule,
    activitySchedule: { purgeCron: "45 3 * * *", retentionMs: 86_400_000 },
  });
  return (id: string) => {
    const fn = functions.find((candidate) => candidate.id(inngest.id) === `${inngest.id}-${id}`);
    if (!fn) throw new Error(`no function ${id}`);
    return new InngestTestEngine({ function: fn });
  };
}

/** Clerk's "Connect to Inngest" path with the transform the README documents, extracted and run as written. */
function documentedTransform(): (evt: unknown, headers: Record<string, string>) => InngestEvent {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("### B. Clerk → Inngest directly"));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error("README: no transform in section B");
  return new Function(`${code}\nreturn transform;`)() as (evt: unknown, headers: Record<string, string>) => InngestEvent;
}
const viaDirectPath = (type: string, data: unknown, instanceId: string, svixId: string) =>
  documentedTransform()({ ...clerkEnvelope(type, data, Date.now()), instance_id: instanceId }, { "Svix-Id": svixId });

const rejected = async () => (await core.audit.history("user_dev", { limit: 10 })).filter((record) => record.decision === "rejected");

describe("the documented Connect-to-Inngest transform and our endpoint carry the instance the same way", () => {
  it("both put the envelope's instance_id in data, beside Clerk's fields, with the Svix id and envelope time", async () => {
    const user = clerkUser({ id: "user_1", updatedAt: 5 });
    const forwarded = await deliverClerkEvent({ type: "user.updated", data: user as never, timestamp: 1_700_000_000_000 }, { path: "webhook", svixId: "msg_same" }, { webhookUrl: webhook.url, received: eventApi.received });
    const direct = documentedTransform()(clerkEnvelope("user.updated", user, 1_700_000_000_000), { "Svix-Id": "msg_same" });
    expect(direct).toEqual({ id: "msg_same", name: "clerk/user.updated", ts: 1_700_000_000_000, data: { ...user, instance_id: ours } });
    expect(forwarded).toMatchObject({ id: direct.id, name: direct.name, ts: direct.ts });
    expect(forwarded.data).toEqual(direct.data);
  });
});

describe("the Inngest functions with CLERK_INSTANCE_ID set refuse events from another instance", () => {
  it("a batch of user events: ours is applied, the other instance's is not, is audited rejected and logged once, and the run is not retried", async () => {
    const engine = functionsGuardedBy(ours)("sync-clerk-user-updated");
    const mine = await deliverClerkEvent({ type: "user.updated", data: clerkUser({ id: "user_ok", updatedAt: 10 }) as never, timestamp: Date.now() }, { path: "webhook", svixId: "msg_ok" }, { webhookUrl: webhook.url, received: eventApi.received });
    const foreign = viaDirectPath("user.updated", clerkUser({ id: "user_dev", updatedAt: 10 }), "ins_dev", "msg_dev");

    const { error } = await engine.execute({ events: [mine, foreign] as never });
    expect((error as Error).name).toBe("NonRetriableError");
    expect((error as Error).message).toContain("ins_dev");

    expect(await core.users.exists({ _id: "user_ok" })).toBeTruthy();
    expect(await core.users.exists({ _id: "user_dev" })).toBeNull();
    expect(await rejected()).toEqual([expect.objectContaining({ source: "webhook", sourceEventId: "msg_dev", change: null, detail: expect.stringContaining("ins_dev") })]);
    expect(guardErrors()).toEqual([expect.objectContaining({ expectedInstanceId: ours, refused: [{ name: "clerk/user.updated", eventId: "msg_dev", instanceId: "ins_dev" }] })]);
  });

  it("an event with no instance (Clerk's own template, which drops the envelope) is refused too, and nothing runs", async () => {
    const engine = functionsGuardedBy(ours)("sync-clerk-user-created");
    const bare = { name: "clerk/user.created", data: clerkUser({ id: "user_dev", updatedAt: 10 }) };
    const { error } = await engine.execute({ events: [bare] as never });
    expect((error as Error).name).toBe("NonRetriableError");
    expect(await core.users.exists({ _id: "user_dev" })).toBeNull();
    expect(await rejected()).toHaveLength(1);
  });

  it("organization, membership and session events from another instance are refused before validation, and audited under their own record", async () => {
    const engineFor = functionsGuardedBy(ours);
    const runs = [
      ["sync-clerk-organization", viaDirectPath("organization.created", clerkOrganization({ id: "org_dev", updatedAt: 10 }), "ins_dev", "msg_org")],
      ["sync-clerk-membership", viaDirectPath("organizationMembership.created", clerkMembership({ id: "orgmem_dev", organizationId: "org_dev", userId: "user_dev", updatedAt: 10 }), "ins_dev", "msg_mem")],
      // Not even a valid session: the guard answers first, so it is audited as a wrong instance, not a bad payload.
      ["record-session-created", viaDirectPath("session.created", { id: "sess_dev", user_id: "user_dev" }, "ins_dev", "msg_sess")],
    ] as const;
    for (const [id, event] of runs) {
      const { error } = await engineFor(id).execute({ events: [event] as never });
      expect((error as Error).name, id).toBe("NonRetriableError");
    }
    expect(await core.organizations.countDocuments()).toBe(0);
    expect(await core.memberships.countDocuments()).toBe(0);
    expect(await core.activity.countDocuments()).toBe(0);
    const audit = await db.connection().collection("sync_audit").find({ decision: "rejected" }).sort({ sourceEventId: 1 }).toArray();
    expect(audit.map(({ entity, userId, sourceEventId }) => ({ entity, userId, sourceEventId }))).toEqual([
      { entity: "membership", userId: "org_dev:user_dev", sourceEventId: "msg_mem" },
      { entity: "organization", userId: "org_dev", sourceEventId: "msg_org" },
      { entity: "user", userId: "user_dev", sourceEventId: "msg_sess" },
    ]);
    expect(guardErrors()).toHaveLength(3);
  });

  it("events from the configured instance run as before, on either path", async () => {
    const engineFor = functionsGuardedBy(ours);
    const organization = viaDirectPath("organization.created", clerkOrganization({ id: "org_ok", updatedAt: 10 }), ours, "msg_org_ok");
    expect((await engineFor("sync-clerk-organization").execute({ events: [organization] as never })).error).toBeUndefined();
    expect(await core.organizations.exists({ _id: "org_ok" })).toBeTruthy();
    expect(guardErrors()).toHaveLength(0);
    expect(await db.connection().collection("sync_audit").countDocuments({ decision: "rejected" })).toBe(0);
  });
});

describe("the Inngest functions without CLERK_INSTANCE_ID", () => {
  it("apply events from any instance, or naming none, as before", async () => {
    const engineFor = functionsGuardedBy(undefined);
    const foreign = viaDirectPath("user.created", clerkUser({ id: "user_dev", updatedAt: 10 }), "ins_dev", "msg_dev");
    const bare = { name: "clerk/user.created", data: clerkUser({ id: "user_bare", updatedAt: 10 }) };
    expect((await engineFor("sync-clerk-user-created").execute({ events: [foreign, bare] as never })).error).toBeUndefined();
    expect(await core.users.countDocuments({ _id: { $in: ["user_dev", "user_bare"] } })).toBe(2);
    expect(guardErrors()).toHaveLength(0);
  });
});
