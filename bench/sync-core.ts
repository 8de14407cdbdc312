/**
 * Clerk user events through the Inngest functions' whole path: `npx tsx bench/sync-core.ts`.
 * Figures on stdout (`name: value unit`), progress on stderr.
 *
 * BENCH_SYNC_EVENTS (default 50,000) `user.created` / `user.updated` payloads for a fifth as many
 * users (each user: one creation and 3–4 updates, each a newer `updated_at`), 10% of them
 * delivered twice, all shuffled: a burst (a backfill, a bulk import, Svix replaying an outage).
 * Both variants run as Inngest functions executed by the Inngest SDK's own execution engine
 * (`@inngest/test`, steps memoised as Inngest does), 8 runs in flight:
 *
 * - OURS: the real `sync-clerk-user-created|updated` functions over the sync core as
 *   api/inngest.ts builds it (audited store, outbox published to a counting sink), fed as Inngest
 *   batches them under a burst: 100 consecutive events of one name per run, runs racing.
 * - NAIVE: the per-event handler most Clerk → MongoDB syncs start with, one run per event,
 *   serialised per user (`concurrency: { key: user id }`): parse, map, one
 *   `findOneAndUpdate({ _id }, { $set }, { upsert: true })`.
 *
 * Interleaved OURS/NAIVE, BENCH_SYNC_RUNS times (5), each on an emptied database; median and
 * worst reported. After each run every user is compared with its newest version (stale users):
 * OURS must leave none. Then the latency of one event alone, webhook to stored: a signed
 * delivery POSTed to the real webhook endpoint, whose hand-off to Inngest runs the function at
 * once (BENCH_SYNC_LATENCY_EVENTS, 200, one after another). Inngest adds its own scheduling and,
 * for a lone event, up to the batch timeout (1 s) that this bench does not wait.
 * Absolute database timings are FerretDB's here: compare ratios and round trips.
 *
 * Env: MONGODB_URI (required), BENCH_SYNC_EVENTS (50000), BENCH_SYNC_RUNS (5), BENCH_SYNC_CONCURRENCY (8),
 * BENCH_SYNC_LATENCY_EVENTS (200), BENCH_SYNC_SEED (1).
 */
import type { UserJSON } from "@clerk/backend";
import { InngestTestEngine } from "@inngest/test";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createInngestClient } from "../inngest/client.js";
import { createSyncClerkUserFunctions, type UserEventResult, userEventBatching } from "../inngest/functions/sync-clerk-user.js";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { createLogger } from "../lib/logger.js";
import { createSyncCore, type SyncCore } from "../lib/sync-core.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import type { UserModel } from "../lib/users/user-model.js";
import { createClerkWebhookHandler } from "../lib/webhooks/clerk-webhook-handler.js";
import { createClerkWebhookVerifier } from "../lib/webhooks/verify-clerk-webhook.js";
import { clerkEnvelope, clerkUser, signDelivery, testSigningSecret } from "../test/support/clerk-fixtures.js";
import { serveHandler } from "../test/support/http.js";
import { runPool } from "../test/support/run-pool.js";
import { testInngestConfig } from "../test/support/inngest.js";
import { gitCommit, median, percentile } from "./common.js";
import { trackBenchDatabases } from "./support/bench-databases.js";
import { type BenchDatabase, figure, intEnv, keepStdoutForFigures, log, logLoad, requireMongoUri, seededRandom } from "./support/reconcile-harness.js";

keepStdoutForFigures();
const mongoUri = requireMongoUri();
const eventCount = intEnv("BENCH_SYNC_EVENTS", 50_000);
const runs = Math.max(1, intEnv("BENCH_SYNC_RUNS", 5));
const concurrency = intEnv("BENCH_SYNC_CONCURRENCY", 8);
const latencyEvents = intEnv("BENCH_SYNC_LATENCY_EVENTS", 200);
const seed = intEnv("BENCH_SYNC_SEED", 1);
const duplicateShare = 0.1;
const userCount = Math.max(1, Math.round(eventCount / 5));

interface WebhookEvent {
  name: "clerk/user.created" | "clerk/user.updated";
  data: UserJSON;
}

/** The stream, and each user's newest version (what a correct sync ends with). */
function generate(): { events: WebhookEvent[]; newest: Map<string, { updatedAt: number; firstName: string }> } {
  const random = seededRandom(seed);
  const duplicates = Math.round(eventCount * duplicateShare);
  const distinct = eventCount - duplicates;
  const perUser = Math.floor(distinct / userCount);
  const withExtra = distinct - perUser * userCount;
  const base = Date.UTC(2024, 0, 1);
  const events: WebhookEvent[] = [];
  const newest = new Map<string, { updatedAt: number; firstName: string }>();
  for (let user = 0; user < userCount; user += 1) {
    const id = `user_sync${String(user).padStart(7, "0")}`;
    const createdAt = base + user * 1_000;
    const versions = perUser + (user < withExtra ? 1 : 0);
    for (let version = 0; version < versions; version += 1) {
      const updatedAt = createdAt + version * 60_000;
      const firstName = `Version${version}`;
      events.push({
        name: version === 0 ? "clerk/user.created" : "clerk/user.updated",
        data: clerkUser({ id, createdAt, updatedAt, firstName, username: `sync${user}`, publicMetadata: { plan: version % 2 ? "pro" : "free" } }),
      });
      newest.set(id, { updatedAt, firstName });
    }
  }
  for (const index of random.sample(events.length, duplicates)) events.push(events[index] as WebhookEvent);
  return { events: random.shuffle(events), newest };
}

/** Inngest's batches under a burst: consecutive events of one function (name), `maxSize` each. */
function burstBatches(events: readonly WebhookEvent[]): WebhookEvent[][] {
  const open = new Map<string, WebhookEvent[]>();
  const batches: WebhookEvent[][] = [];
  for (const event of events) {
    const batch = open.get(event.name) ?? [];
    batch.push(event);
    open.set(event.name, batch);
    if (batch.length === userEventBatching.maxSize) {
      batches.push(batch);
      open.delete(event.name);
    }
  }
  batches.push(...open.values());
  return batches;
}

async function staleUsers(users: UserModel, newest: Map<string, { updatedAt: number; firstName: string }>): Promise<{ stale: number; missing: number; extra: number }> {
  const docs = await users.find({}, { firstName: 1, clerkUpdatedAt: 1 }).lean();
  let stale = 0;
  for (const doc of docs) {
    const expected = newest.get(doc._id);
    if (expected && (doc.clerkUpdatedAt?.getTime() !== expected.updatedAt || doc.firstName !== expected.firstName)) stale += 1;
  }
  const seen = new Set(docs.map((doc) => doc._id));
  const missing = [...newest.keys()].filter((id) => !seen.has(id)).length;
  return { stale: stale + missing, missing, extra: docs.length - (newest.size - missing) };
}

interface RunResult {
  eventsPerSecond: number;
  roundTrips: number;
  stale: number;
}


/** A variant: what it needs once, and one measured pass over the stream. */
interface Variant {
  label: "ours" | "naive";
  db: BenchDatabase;
  pass(events: readonly WebhookEvent[]): Promise<void>;
}

async function measure(variant: Variant, events: readonly WebhookEvent[], newest: Map<string, { updatedAt: number; firstName: string }>, round: number): Promise<RunResult> {
  const { db, label } = variant;
  await db.users.deleteMany({});
  await db.connection.collection("sync_audit").deleteMany({});
  db.commands.reset();
  const started = performance.now();
  await variant.pass(events);
  const ms = performance.now() - started;
  const roundTrips = db.commands.total;
  const commands = db.commands.byName();
  const check = await staleUsers(db.users, newest);
  const result = { eventsPerSecond: (events.length / ms) * 1000, roundTrips, stale: check.stale };
  log(`${label} run ${round}: ${Math.round(ms)} ms, ${result.eventsPerSecond.toFixed(0)} events/s, ${roundTrips} round trips ${JSON.stringify(commands)} waiting ${JSON.stringify(db.commands.msByName())} ms; ${check.stale} stale users`);
  return result;
}

/**
 * One run of a function by the SDK's execution engine, steps executed and memoised as Inngest
 * does. The context is passed through as is: `@inngest/test`'s default wraps every step tool in
 * a spy that is never released (about 230 MB per 1,000 runs, measured), which neither the
 * functions nor Inngest have.
 */
function execute(fn: InngestTestEngine.Options["function"], events: readonly unknown[]) {
  return new InngestTestEngine({ function: fn, transformCtx: (ctx) => ctx }).execute({ events: events as [never, ...never[]] });
}

const silent = createLogger("silent");
const inngest = createInngestClient(testInngestConfig, silent);

/** OURS: the deployed user functions over the sync core api/inngest.ts builds, app events to a counting sink. */
async function oursVariant(db: BenchDatabase): Promise<Variant & { core: SyncCore; published: () => number }> {
  let published = 0;
  const core = await createSyncCore(
    { mongo: { uri: mongoUri, dbName: db.connection.name, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 }, clerk: { apiUrl: "http://127.0.0.1:9", secretKey: "sk_test_bench" }, reconcile: { maxClerkRequestsPer10Seconds: 1_000 } },
    { logger: silent, connection: db.connection, sendEvents: async (sent) => void (published += sent.length) },
  );
  const functions = createSyncClerkUserFunctions(inngest, { users: async () => core.store, outbox: async () => core.outbox, audit: async () => core.audit });
  const byEvent = new Map(functions.map((fn) => [(fn["opts"] as { triggers: { event: string }[] }).triggers[0]?.event, fn]));
  return {
    label: "ours",
    db,
    core,
    published: () => published,
    async pass(events) {
      let batchNumber = 0;
      await runPool(burstBatches(events), () => `batch-${batchNumber++}`, async (batch) => {
        const fn = byEvent.get(batch[0]?.name as string);
        if (!fn) throw new Error(`no function for ${batch[0]?.name}`);
        const { error, result } = await execute(fn, batch);
        if (error) throw new Error(`run failed: ${JSON.stringify(error)}`);
        if ((result as UserEventResult[]).length !== batch.length) throw new Error("a run reported fewer events than its batch");
      }, concurrency);
    },
  };
}

/** NAIVE: one run per event, serialised per user, a blind upsert. */
function naiveVariant(db: BenchDatabase): Variant {
  const naive = inngest.createFunction(
    { id: "naive-sync-clerk-user", triggers: [{ event: "clerk/user.created" }, { event: "clerk/user.updated" }], concurrency: { limit: 1, key: "event.data.id" } },
    async ({ event, step }) =>
      step.run("upsert", async () => {
        const user = clerkUserSchema.parse(event.data);
        await db.users.findOneAndUpdate({ _id: user.id }, { $set: toUserSnapshot(user) }, { upsert: true });
        return user.id;
      }),
  );
  return {
    label: "naive",
    db,
    async pass(events) {
      await runPool(events, (event) => event.data.id, async (event) => {
        const { error } = await execute(naive, [event]);
        if (error) throw new Error(`run failed: ${JSON.stringify(error)}`);
      }, concurrency);
    },
  };
}

/** One event alone, from a signed POST to the webhook endpoint until it is stored, `count` times in a row. */
async function webhookToStored(variant: Variant, runEvent: (event: { name: string; data: Record<string, unknown> }) => Promise<void>, count: number): Promise<number[]> {
  const handler = createClerkWebhookHandler({ verify: createClerkWebhookVerifier(testSigningSecret), sendEvent: (event) => runEvent(event as never), maxBodyBytes: 512 * 1024, logger: silent });
  const server = await serveHandler((req: IncomingMessage, res: ServerResponse) => handler(req, res));
  const latencies: number[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const id = `user_latency_${variant.label}_${index}`;
      const now = Date.now();
      const body = JSON.stringify(clerkEnvelope("user.created", clerkUser({ id, createdAt: now, updatedAt: now }), now));
      const started = performance.now();
      const response = await fetch(`${server.url}/api/webhooks/clerk`, { method: "POST", ...signDelivery(body, { id: `msg_${id}` }) });
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
      latencies.push(performance.now() - started);
      if (!(await variant.db.users.exists({ _id: id }))) throw new Error(`${id} was not stored when the webhook answered`);
    }
  } finally {
    await server.close();
  }
  return latencies.sort((a, b) => a - b);
}

const databases = { ours: "cms_bench_sync_core_ours", naive: "cms_bench_sync_core_naive" };
const benchDatabases = trackBenchDatabases(mongoUri);
const cleanup = benchDatabases.cleanup;

logLoad("start");
log(`date ${new Date().toISOString()}, commit ${gitCommit()}, node ${process.version}`);
try {
  const { events, newest } = generate();
  log(`${events.length} events for ${newest.size} users; ${runs} runs of each, interleaved; ${concurrency} runs in flight`);
  const oursDb = await benchDatabases.open(databases.ours);
  const naiveDb = await benchDatabases.open(databases.naive);
  const ours = await oursVariant(oursDb);
  const naive = naiveVariant(naiveDb);

  const results: Record<"ours" | "naive", RunResult[]> = { ours: [], naive: [] };
  const ratios: number[] = [];
  for (let round = 1; round <= runs; round += 1) {
    const a = await measure(ours, events, newest, round);
    const b = await measure(naive, events, newest, round);
    results.ours.push(a);
    results.naive.push(b);
    ratios.push(a.eventsPerSecond / b.eventsPerSecond);
    if (a.stale !== 0) throw new Error(`OURS left ${a.stale} users stale: the sync rules are broken`);
  }
  logLoad("throughput done");

  // Latency of a lone event: OURS' function (a batch of one) vs the naive one, webhook to stored.
  const oursFunctions = createSyncClerkUserFunctions(inngest, { users: async () => ours.core.store, outbox: async () => ours.core.outbox, audit: async () => ours.core.audit });
  const created = oursFunctions[0];
  if (!created) throw new Error("no sync-clerk-user-created");
  const oursLatency = await webhookToStored(ours, async (event) => void (await execute(created, [event])), latencyEvents);
  const naiveLatency = await webhookToStored(
    naive,
    async (event) => {
      const user = clerkUserSchema.parse(event.data);
      await naiveDb.users.findOneAndUpdate({ _id: user.id }, { $set: toUserSnapshot(user) }, { upsert: true });
    },
    latencyEvents,
  );

  const worst = (values: number[], better: "higher" | "lower") => (better === "higher" ? Math.min(...values) : Math.max(...values));
  const perSecond = (variant: "ours" | "naive") => results[variant].map((result) => result.eventsPerSecond);
  figure("sync_core_events", events.length, "events");
  figure("sync_core_runs", runs, "runs");
  figure("sync_core_ours_events_per_s_median", median(perSecond("ours")), "events/s", 0);
  figure("sync_core_naive_events_per_s_median", median(perSecond("naive")), "events/s", 0);
  figure("sync_core_ours_vs_naive_throughput_median", median(ratios), "x");
  figure("sync_core_ours_vs_naive_throughput_worst", worst(ratios, "higher"), "x");
  figure("sync_core_ours_round_trips_per_event", median(results.ours.map((result) => result.roundTrips)) / events.length, "commands", 3);
  figure("sync_core_naive_round_trips_per_event", median(results.naive.map((result) => result.roundTrips)) / events.length, "commands", 3);
  figure("sync_core_ours_app_events_published_per_run", ours.published() / runs, "events", 0);
  figure("sync_core_ours_stale_users_worst", worst(results.ours.map((result) => result.stale), "lower"), "users");
  figure("sync_core_naive_stale_users_worst", worst(results.naive.map((result) => result.stale), "lower"), "users");
  figure("sync_core_ours_webhook_to_stored_p50", percentile(oursLatency, 50), "ms", 1);
  figure("sync_core_ours_webhook_to_stored_p99", percentile(oursLatency, 99), "ms", 1);
  figure("sync_core_naive_webhook_to_stored_p50", percentile(naiveLatency, 50), "ms", 1);
  figure("sync_core_naive_webhook_to_stored_p99", percentile(naiveLatency, 99), "ms", 1);
  logLoad("done");
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
