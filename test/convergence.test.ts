import type { UserJSON } from "@clerk/backend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClerkWebhookHandler } from "../lib/webhooks/clerk-webhook-handler.js";
import { createInngestClient } from "../inngest/client.js";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { createLogger } from "../lib/logger.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import { createUserStore } from "../lib/users/user-store.js";
import { createClerkWebhookVerifier } from "../lib/webhooks/verify-clerk-webhook.js";
import { clerkUser, clerkUserDeleted, testSigningSecret } from "./support/clerk-fixtures.js";
import { serveHandler } from "./support/http.js";
import { startInngestEventApi } from "./support/inngest-event-api.js";
import { syncFunctionEngines, testInngestConfig } from "./support/inngest.js";
import { useTestDatabase } from "./support/mongo.js";
import { seededRandom } from "./support/random.js";
import { runPool } from "./support/run-pool.js";
import { deliverClerkEvent, type InngestEvent } from "./support/clerk-delivery.js";
import { type UserEventResult, userEventBatching } from "../inngest/functions/sync-clerk-user.js";

/**
 * Many users' Clerk histories, every event delivered one to three times, shuffled,
 * each copy through one of the two ways Clerk feeds Inngest (our signed webhook
 * endpoint, or Clerk's direct "Connect to Inngest" path with no id and no envelope
 * timestamp), applied in racing batches by the real (batched) functions. The database
 * must end equal to each user's newest state, deleted users deleted.
 */

const userCount = Number(process.env.CONVERGENCE_USERS ?? 200);
const seed = Number(process.env.CONVERGENCE_SEED ?? 6);

interface ClerkEvent {
  type: "user.created" | "user.updated" | "user.deleted";
  data: Record<string, unknown>;
  timestamp: number;
}
interface Truth {
  id: string;
  newest: UserJSON;
  deleted: boolean;
}

function generateHistories(random: ReturnType<typeof seededRandom>) {
  const events: ClerkEvent[] = [];
  const truths: Truth[] = [];
  const start = Date.UTC(2026, 0, 1);
  for (let index = 0; index < userCount; index += 1) {
    const id = `user_conv${String(index).padStart(5, "0")}`;
    let time = start + random.int(86_400_000);
    const createdAt = time;
    let emails = [`${id}@example.com`];
    let primaryIndex = 0;
    let current = clerkUser({ id, createdAt, updatedAt: time, emails });
    events.push({ type: "user.created", data: current as never, timestamp: time });

    const updates = 5 + random.int(16);
    for (let update = 1; update <= updates; update += 1) {
      time += 1 + random.int(60_000);
      if (random.chance(0.2)) {
        emails = [...emails, `${id}+${update}@example.com`];
        primaryIndex = emails.length - 1;
      }
      current = clerkUser({
        id,
        createdAt,
        updatedAt: time,
        emails,
        primaryIndex,
        firstName: `First${update}`,
        lastName: random.chance(0.1) ? null : `Last${update}`,
        username: `u${index}_${update}`,
        publicMetadata: { plan: random.chance(0.5) ? "pro" : "free", revision: update },
        banned: random.chance(0.1),
        locked: random.chance(0.05),
      });
      events.push({ type: "user.updated", data: current as never, timestamp: time });
    }
    const deleted = random.chance(0.25);
    if (deleted) events.push({ type: "user.deleted", data: clerkUserDeleted(id), timestamp: time + 1 + random.int(60_000) });
    truths.push({ id, newest: current, deleted });
  }
  return { events, truths };
}

/** Deliveries cut, in order, into runs of 1 to `userEventBatching.maxSize` (most small, some full). */
function inArrivalBatches<T>(deliveries: readonly T[], random: ReturnType<typeof seededRandom>): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < deliveries.length; ) {
    const size = random.chance(0.2) ? userEventBatching.maxSize : 1 + random.int(12);
    batches.push(deliveries.slice(start, start + size));
    start += size;
  }
  return batches;
}

const db = useTestDatabase();
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let webhook: Awaited<ReturnType<typeof serveHandler>>;

beforeAll(async () => {
  eventApi = await startInngestEventApi();
  const inngest = createInngestClient({ ...testInngestConfig, baseUrl: eventApi.baseUrl }, createLogger("silent"));
  webhook = await serveHandler(
    createClerkWebhookHandler({
      verify: createClerkWebhookVerifier(testSigningSecret),
      sendEvent: (event) => inngest.send(event),
      maxBodyBytes: 512 * 1024,
      logger: createLogger("silent"),
    }),
  );
});
afterAll(async () => {
  await webhook.close();
  await eventApi.close();
});

describe("convergence under shuffled, duplicated deliveries through both paths", () => {
  it(`the database equals Clerk's newest state for ${userCount} users`, async () => {
    const random = seededRandom(seed);
    const { events, truths } = generateHistories(random);
    const deliveries = random.shuffle(
      events.flatMap((event, index) =>
        Array.from({ length: 1 + random.int(3) }, (_, copy) => ({
          event,
          path: random.chance(0.5) ? ("webhook" as const) : ("direct" as const),
          svixId: `msg_${index}`,
          copy,
        })),
      ),
    );
    const { engineFor } = syncFunctionEngines(async () => createUserStore(db.users()));
    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

    // Inngest's batches: consecutive arrivals of one event name, 1 to maxSize events (often a
    // user's several versions, duplicates included). Batches race with no per-user key, as
    // the batched functions run them.
    const batches = inArrivalBatches(deliveries, random);
    const keyed = batches.map((batch, index) => ({ batch, key: `batch-${index}` }));
    await runPool(keyed, ({ key }) => key, async ({ batch }) => {
      const arrived: InngestEvent[] = [];
      for (const { event, path, svixId } of batch) arrived.push(await deliverClerkEvent(event, { path, svixId }, { webhookUrl: webhook.url, received: eventApi.received }));
      for (const name of new Set(arrived.map((event) => event.name))) {
        const events = arrived.filter((event) => event.name === name);
        const { result, error } = await engineFor(name).execute({ events: events as [never, ...never[]] });
        if (error) throw new Error(`run failed: ${JSON.stringify(error)}`);
        for (const outcome of result as UserEventResult[]) count(`${outcome.kind}${"reason" in outcome ? `:${outcome.reason}` : ""}`);
      }
    });

    const stored = new Map((await db.users().find().lean()).map((doc) => [doc._id, doc]));
    const divergences: string[] = [];
    for (const truth of truths) {
      const doc = stored.get(truth.id);
      if (!doc) {
        divergences.push(`${truth.id}: missing`);
        continue;
      }
      if (truth.deleted) {
        if (!doc.deletedAt) divergences.push(`${truth.id}: deleted in Clerk, live here`);
        continue;
      }
      if (doc.deletedAt) {
        divergences.push(`${truth.id}: tombstoned but alive in Clerk`);
        continue;
      }
      const expected = toUserSnapshot(clerkUserSchema.parse(truth.newest));
      const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, doc[key as keyof typeof doc]]));
      try {
        expect(actual).toEqual(expected);
      } catch {
        divergences.push(`${truth.id}: stale (stored version ${doc.clerkUpdatedAt?.getTime()}, Clerk ${truth.newest.updated_at})`);
      }
    }
    const extra = [...stored.keys()].filter((id) => !truths.some((truth) => truth.id === id));

    const webhookCount = deliveries.filter((delivery) => delivery.path === "webhook").length;
    const figures = {
      users: userCount,
      deletedUsers: truths.filter((truth) => truth.deleted).length,
      clerkEvents: events.length,
      deliveries: deliveries.length,
      duplicateDeliveries: deliveries.length - events.length,
      viaWebhook: webhookCount,
      viaDirectInngest: deliveries.length - webhookCount,
      batches: batches.length,
      largestBatch: Math.max(...batches.map((batch) => batch.length)),
      outcomes: Object.fromEntries([...outcomes.entries()].sort()),
      divergences: divergences.length + extra.length,
    };
    console.log(`convergence: ${JSON.stringify(figures, null, 2)}`);

    expect(divergences).toEqual([]);
    expect(extra).toEqual([]);
    expect(stored.size).toBe(userCount);
    expect(deliveries.length).toBeGreaterThanOrEqual(userCount >= 200 ? 5_000 : 0);
  }, 600_000);
});
