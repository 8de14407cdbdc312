import type { UserJSON } from "@clerk/backend";
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClerkWebhookHandler } from "../lib/webhooks/clerk-webhook-handler.js";
import { createInngestClient } from "../inngest/client.js";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { createLogger } from "../lib/logger.js";
import { createSyncCore } from "../lib/sync-core.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import type { UserStore } from "../lib/users/user-store.js";
import { createClerkWebhookVerifier } from "../lib/webhooks/verify-clerk-webhook.js";
import { startClerkBackendApi } from "./support/clerk-backend-api.js";
import { clerkEnvelope, clerkUser, clerkUserDeleted, signDelivery, testSigningSecret } from "./support/clerk-fixtures.js";
import { testSecretKey } from "./support/clerk-tokens.js";
import { serveHandler } from "./support/http.js";
import { startInngestEventApi } from "./support/inngest-event-api.js";
import { syncFunctionEngines, testInngestConfig } from "./support/inngest.js";
import { useTestDatabase } from "./support/mongo.js";
import { seededRandom } from "./support/random.js";
import type { InngestEvent } from "./support/clerk-delivery.js";
import { userEventBatching } from "../inngest/functions/sync-clerk-user.js";

/**
 * A deterministic, seeded simulation of everything that goes wrong between Clerk and
 * MongoDB: Clerk "truth" histories (creates, updates, metadata changes, bans, deletes)
 * delivered late, out of order, duplicated or not at all, through the real webhook handler
 * (with Inngest sometimes refusing the event, so Svix redelivers) or Clerk's direct path,
 * applied in racing batches by the real (batched) function code with transient MongoDB errors
 * before and after writes and Inngest-style retries. Then one reconciliation. MongoDB must
 * equal Clerk's truth.
 *
 * FAULT_INJECTION_SCALE=large runs 10,000 users and about 200,000 deliveries.
 */

const large = process.env.FAULT_INJECTION_SCALE === "large";
const userCount = Number(process.env.FAULT_INJECTION_USERS ?? (large ? 10_000 : 150));
const meanUpdates = large ? 12 : 6;
const seed = Number(process.env.FAULT_INJECTION_SEED ?? 8);
const parallelism = 8;
const maxAttempts = 5;
const p = { lost: 0.08, duplicate: 0.35, direct: 0.3, inngestDown: 0.05, batchFailBeforeWrite: 0.2, batchFailAfterWrite: 0.12, deleted: 0.2 };

interface ClerkEvent {
  type: "user.created" | "user.updated" | "user.deleted";
  userId: string;
  data: Record<string, unknown>;
  timestamp: number;
}
/** Per attempt of a run: a transient MongoDB error before or after the write, or none. */
type Fault = "before" | "after" | null;
interface Delivery {
  event: ClerkEvent;
  svixId: string;
  path: "webhook" | "direct";
  inngestDown: boolean;
  order: number;
}

function simulateClerk(random: ReturnType<typeof seededRandom>) {
  const events: ClerkEvent[] = [];
  const truth = new Map<string, UserJSON>();
  const deleted = new Set<string>();
  let clock = Date.UTC(2026, 5, 1);
  for (let index = 0; index < userCount; index += 1) {
    const id = `user_fi${String(index).padStart(6, "0")}`;
    clock += 1 + random.int(1_000);
    const createdAt = clock;
    let time = clock;
    let state = { emails: [`${id}@example.com`], primaryIndex: 0, firstName: "New", publicMetadata: { plan: "free" } as Record<string, unknown>, banned: false };
    let user = clerkUser({ id, createdAt, updatedAt: time, emails: state.emails, firstName: state.firstName, publicMetadata: state.publicMetadata });
    events.push({ type: "user.created", userId: id, data: user as never, timestamp: time });
    const updates = random.int(meanUpdates * 2 + 1);
    for (let update = 0; update < updates; update += 1) {
      time += 1 + random.int(120_000);
      const change = random.int(4);
      if (change === 0) state = { ...state, firstName: `Name${update}` };
      if (change === 1) state = { ...state, publicMetadata: { plan: random.chance(0.5) ? "pro" : "team", seats: update } };
      if (change === 2) state = { ...state, banned: !state.banned };
      if (change === 3) state = { ...state, emails: [...state.emails, `${id}+${update}@example.com`], primaryIndex: state.emails.length };
      user = clerkUser({ id, createdAt, updatedAt: time, ...state });
      events.push({ type: "user.updated", userId: id, data: user as never, timestamp: time });
    }
    if (random.chance(p.deleted)) {
      deleted.add(id);
      events.push({ type: "user.deleted", userId: id, data: clerkUserDeleted(id), timestamp: time + 1 + random.int(60_000) });
    } else {
      truth.set(id, user);
    }
  }
  return { events, truth, deleted };
}

function planDeliveries(events: ClerkEvent[], random: ReturnType<typeof seededRandom>) {
  const deliveries: Delivery[] = [];
  let lost = 0;
  events.forEach((event, index) => {
    if (random.chance(p.lost)) {
      lost += 1;
      return;
    }
    const copies = random.chance(p.duplicate) ? 2 + random.int(2) : 1;
    for (let copy = 0; copy < copies; copy += 1) {
      deliveries.push({
        event,
        svixId: `msg_fi_${index}`,
        path: random.chance(p.direct) ? "direct" : "webhook",
        inngestDown: random.chance(p.inngestDown),
        // Lateness: most deliveries near their time, some very late, all reordered.
        order: index + (random.chance(0.1) ? random.int(events.length) : random.int(40)),
      });
    }
  });
  return { deliveries: deliveries.sort((a, b) => a.order - b.order), lost };
}

const db = useTestDatabase();
const faultContext = new AsyncLocalStorage<{ inngestDown?: boolean; fault?: "before" | "after" | null }>();
let clerk: Awaited<ReturnType<typeof startClerkBackendApi>>;
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let webhook: Awaited<ReturnType<typeof serveHandler>>;

beforeAll(async () => {
  clerk = await startClerkBackendApi(testSecretKey);
  eventApi = await startInngestEventApi();
  const inngest = createInngestClient({ ...testInngestConfig, baseUrl: eventApi.baseUrl }, createLogger("silent"));
  const handler = createClerkWebhookHandler({
    verify: createClerkWebhookVerifier(testSigningSecret),
    sendEvent: (event) => (faultContext.getStore()?.inngestDown ? Promise.reject(new Error("Inngest unavailable")) : inngest.send(event)),
    maxBodyBytes: 512 * 1024,
    logger: createLogger("silent"),
  });
  // The test tells the server, per request, whether Inngest is "down" for that delivery.
  webhook = await serveHandler((req: IncomingMessage, res: ServerResponse) =>
    faultContext.run({ inngestDown: req.headers["x-test-inngest-down"] === "1" }, () => handler(req, res)),
  );
});
afterAll(async () => {
  await webhook.close();
  await eventApi.close();
  await clerk.close();
});

/** A transient MongoDB error, as the driver raises it. */
const transient = () => Object.assign(new Error("connection 7 to 127.0.0.1:27017 closed"), { name: "MongoNetworkError" });

describe("fault injection: convergence to Clerk's truth", () => {
  it(`ends with 0 divergences for ${userCount} users`, async () => {
    const random = seededRandom(seed);
    const { events, truth, deleted } = simulateClerk(random);
    const { deliveries, lost } = planDeliveries(events, random);

    // The sync core as every entry point builds it (an audited store), against the Clerk stand-in.
    const core = await createSyncCore(
      { mongo: db.config, clerk: { apiUrl: clerk.url, secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 100_000 } },
      { logger: createLogger("silent"), sendEvents: async () => {} },
    );
    const real = core.store;
    const faulty: UserStore = {
      async apply(event) {
        const fault = faultContext.getStore()?.fault;
        if (fault === "before") throw transient();
        const outcome = await real.apply(event);
        if (fault === "after") throw transient();
        return outcome;
      },
      applyBatch: (events, options) => real.applyBatch(events, options),
      async applyEvents(events) {
        const fault = faultContext.getStore()?.fault;
        if (fault === "before") throw transient();
        const outcomes = await real.applyEvents(events);
        if (fault === "after") throw transient();
        return outcomes;
      },
    };
    const { engineFor, engineById } = syncFunctionEngines(async () => faulty, async () => core);

    const injected = { batches: 0, webhook503: 0, faultsBeforeWrite: 0, faultsAfterWrite: 0, retries: 0, runsExhausted: 0 };
    const queue = [...deliveries];

    /** One delivery reaching Inngest (or not: a 503 makes Svix redeliver it after the rest of the queue). */
    async function arrive(delivery: Delivery): Promise<InngestEvent | null> {
      const { event } = delivery;
      if (delivery.path === "direct") return { name: `clerk/${event.type}`, data: event.data, ts: Date.now() };
      const body = JSON.stringify(clerkEnvelope(event.type, event.data, event.timestamp));
      const signed = signDelivery(body, { id: delivery.svixId });
      const headers = { ...signed.headers, ...(delivery.inngestDown && { "x-test-inngest-down": "1" }) };
      const response = await fetch(`${webhook.url}/api/webhooks/clerk`, { method: "POST", body, headers });
      if (response.status === 503) {
        injected.webhook503 += 1;
        queue.push({ ...delivery, inngestDown: false });
        return null;
      }
      expect(response.status).toBe(200);
      const forwarded = eventApi.received.findLast((received) => received.id === delivery.svixId);
      if (!forwarded) throw new Error(`${delivery.svixId} was acknowledged but never reached Inngest`);
      return forwarded;
    }

    /** One batched run and its retries, meeting the faults planned for it. */
    async function run(events: InngestEvent[], faults: Fault[]): Promise<void> {
      for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
        const fault = faults[attempt] ?? null;
        if (fault === "before") injected.faultsBeforeWrite += 1;
        if (fault === "after") injected.faultsAfterWrite += 1;
        const { error } = await faultContext.run({ fault }, () => engineFor((events[0] as InngestEvent).name).execute({ events: events as [never, ...never[]] }));
        if (!error) return;
        if ((error as { name?: string }).name !== "MongoNetworkError") throw new Error(`unexpected failure: ${JSON.stringify(error)}`);
        if (attempt < maxAttempts - 1) injected.retries += 1;
      }
      injected.runsExhausted += 1; // Inngest gives up; reconciliation must repair it.
    }

    // Inngest's batches: consecutive arrivals, 1 to maxSize events of one name, racing with no per-user key.
    let next = 0;
    await Promise.all(
      Array.from({ length: parallelism }, async () => {
        while (next < queue.length) {
          const size = random.chance(0.05) ? userEventBatching.maxSize : 1 + random.int(12);
          const batch = queue.slice(next, next + size);
          next += batch.length;
          injected.batches += 1;
          const arrived: InngestEvent[] = [];
          for (const delivery of batch) {
            const event = await arrive(delivery);
            if (event) arrived.push(event);
          }
          for (const name of new Set(arrived.map((event) => event.name))) {
            // A batch's run meets faults more often than one delivery would (it does the work of many).
            const faults = Array.from({ length: maxAttempts }, () => (random.chance(p.batchFailBeforeWrite) ? "before" : random.chance(p.batchFailAfterWrite) ? "after" : null));
            await run(arrived.filter((event) => event.name === name), faults);
          }
        }
      }),
    );

    const divergencesBefore = await divergences(truth, deleted);
    for (const [id, user] of truth) clerk.users.set(id, user);
    const reconcile = await engineById("reconcile-users").execute({ events: [{ name: "app/users.reconcile.requested", data: {} }] });
    expect(reconcile.error).toBeUndefined();
    const remaining = await divergences(truth, deleted);

    const figures = {
      users: userCount,
      deletedInClerk: deleted.size,
      clerkEvents: events.length,
      deliveries: deliveries.length,
      lostDeliveries: lost,
      duplicateDeliveries: deliveries.length - (events.length - lost),
      viaDirectInngest: deliveries.filter((delivery) => delivery.path === "direct").length,
      ...injected,
      divergencesBeforeReconciliation: divergencesBefore.length,
      reconciliation: reconcile.result,
      divergences: remaining.length,
    };
    console.log(`fault-injection: ${JSON.stringify(figures, null, 2)}`);
    expect(remaining).toEqual([]);
    // The faults must have bitten, or the test proves nothing.
    expect(lost).toBeGreaterThan(0);
    expect(injected.webhook503 + injected.faultsAfterWrite + injected.faultsBeforeWrite).toBeGreaterThan(0);
    expect(divergencesBefore.length).toBeGreaterThan(0);
  }, 3_600_000);
});

/** Every way MongoDB can differ from Clerk: missing, stale, resurrected, or alive when deleted. */
async function divergences(truth: Map<string, UserJSON>, deleted: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  const docs = new Map((await db.users().find().lean()).map((doc) => [doc._id, doc]));
  for (const id of deleted) {
    if (docs.get(id) && !docs.get(id)?.deletedAt) problems.push(`${id}: deleted in Clerk, alive here`);
  }
  for (const [id, user] of truth) {
    const doc = docs.get(id);
    if (!doc) {
      problems.push(`${id}: missing`);
      continue;
    }
    if (doc.deletedAt) {
      problems.push(`${id}: tombstoned but alive in Clerk`);
      continue;
    }
    const expected = toUserSnapshot(clerkUserSchema.parse(user));
    const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, doc[key as keyof typeof doc]]));
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${id}: stale`);
  }
  for (const id of docs.keys()) if (!truth.has(id) && !deleted.has(id)) problems.push(`${id}: unknown to Clerk`);
  return problems;
}
