/**
 * App events on NATS JetStream: `npx tsx bench/nats.ts`.
 * Figures on stdout (`name: value unit`, one per line), progress on stderr.
 *
 * Starts its own `nats-server -js` (test/support/nats-server.ts: 127.0.0.1, a free port, a
 * temporary store, killed and deleted at the end) and uses a database of its own on the
 * MongoDB-wire server at MONGODB_URI (dropped at the end).
 *
 * 1. Publish: BENCH_NATS_EVENTS (5,000) app events with distinct ids through the real
 *    publisher (`createAppEventPublisher(...).publish`: one connection, PubAck awaited, the
 *    stream ensured on first use), BENCH_NATS_IN_FLIGHT (16) at a time. One warm-up publish
 *    (connection + stream creation) is excluded. Figures: events/s, and p50/p99 per publish.
 *
 * 2. Webhook to stream: BENCH_NATS_DELIVERIES (300) Svix-signed Clerk deliveries (each user
 *    one `user.created`, then one `user.updated` changing a field consumers see, so every
 *    delivery produces exactly one app event), BENCH_NATS_E2E_IN_FLIGHT (4) users at a time,
 *    a user's deliveries one after the other (Inngest's per-user `concurrency: 1`). Each is
 *    timed from just before the POST to the moment its app event arrives on an ordered
 *    consumer of the stream (matched by the `Correlation-Id` header, which is the Svix id):
 *
 *      POST → the real webhook handler on 127.0.0.1 (verify, validate, `inngest.send`)
 *        → an Inngest Event API stand-in on 127.0.0.1, which hands the event straight to
 *        → the real sync function (`sync-clerk-user-*`, run by @inngest/test): store apply
 *          (MongoDB), then the outbox publish, whose `send` hands each app event straight to
 *        → the real `publish-app-events` function (run by @inngest/test) → JetStream.
 *
 *    NOT included: Inngest cloud's own queueing and scheduling latency (event ingestion,
 *    function scheduling, step round trips over HTTP, retries). The stand-ins hand events
 *    over directly, so these figures are the floor our code and the brokers add, not what
 *    production sees end to end. A few warm-up deliveries run first and are not counted.
 *
 * Env: MONGODB_URI (required), BENCH_NATS_EVENTS, BENCH_NATS_IN_FLIGHT,
 * BENCH_NATS_DELIVERIES, BENCH_NATS_E2E_IN_FLIGHT. Exits 1 (no figures) if any delivery
 * fails or the stream does not hold exactly one message per delivery.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { InngestTestEngine } from "@inngest/test";
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createClerkWebhookHandler } from "../lib/webhooks/clerk-webhook-handler.js";
import { createInngestClient } from "../inngest/client.js";
import { createPublishAppEvents } from "../inngest/functions/publish-app-events.js";
import { createAuditLog } from "../lib/audit/audit-log.js";
import { closeMongoConnections, connectMongo } from "../lib/db/connection.js";
import { createOutboxPublisher } from "../lib/events/outbox.js";
import { createLogger } from "../lib/logger.js";
import { createAppEventPublisher, type AppEventPublisher } from "../lib/nats/app-event-publisher.js";
import { appEventHeaders, appEventsStream } from "../lib/nats/app-event-subjects.js";
import { connectionOptionsFor, parseNatsUrl } from "../lib/nats/nats-url.js";
import type { AppEvent } from "../lib/sync/types.js";
import { userModelFor } from "../lib/users/user-model.js";
import { createUserStore } from "../lib/users/user-store.js";
import { createClerkWebhookVerifier } from "../lib/webhooks/verify-clerk-webhook.js";
import { clerkEnvelope, clerkUser, signDelivery, testSigningSecret } from "../test/support/clerk-fixtures.js";
import { serveHandler } from "../test/support/http.js";
import { syncFunctionEngines, testInngestConfig } from "../test/support/inngest.js";
import { appEventFixture, startNatsServer, type NatsServer } from "../test/support/nats-server.js";
import { percentile } from "./common.js";

// ---------------------------------------------------------------------------------------------
// Output: figures only on stdout; anything a library prints goes to stderr.

console.log = console.error;
console.info = console.error;
console.warn = console.error;
console.debug = console.error;

const figures: string[] = [];
function figure(name: string, value: number, unit: string, digits = 2): void {
  figures.push(`${name}: ${Number.isInteger(value) ? value : value.toFixed(digits)} ${unit}`);
}
function log(message: string): void {
  process.stderr.write(`[bench:nats] ${message}\n`);
}
function logLoad(when: string): void {
  log(`${when}: load average ${loadavg().map((load) => load.toFixed(2)).join(" ")} on ${availableParallelism()} CPUs`);
}
function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`);
  return value;
}
interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}
/** `Promise.withResolvers` (ES2024, beyond this project's lib). Never an unhandled rejection. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((ok, ko) => {
    resolve = ok;
    reject = ko;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error));

// ---------------------------------------------------------------------------------------------
// Configuration

const mongoUri = process.env.MONGODB_URI;
if (!mongoUri) {
  process.stderr.write(
    'bench/nats.ts needs a MongoDB-wire server in MONGODB_URI. Start one first (from the repository root):\n  eval "$(bash ../shared/tools/ferretdb.sh start)"\nthen run it again.\n',
  );
  process.exit(2);
}
const publishCount = intEnv("BENCH_NATS_EVENTS", 5_000);
const publishInFlight = intEnv("BENCH_NATS_IN_FLIGHT", 16);
const deliveryCount = intEnv("BENCH_NATS_DELIVERIES", 300);
const e2eInFlight = intEnv("BENCH_NATS_E2E_IN_FLIGHT", 4);
const warmUpUsers = 3;
/** One delivery's app event must reach the stream within this, or the run fails. */
const arrivalTimeoutMs = 15_000;
/** Stay under ~3 minutes whatever happens. */
const overallTimeoutMs = 170_000;
const dbName = `cms_bench_nats_${process.pid}`;

// ---------------------------------------------------------------------------------------------
// Resources, all released by cleanup()

const silent = createLogger("silent");
let nats: NatsServer | undefined;
let publisher: AppEventPublisher | undefined;
let subscriberConnection: NatsConnection | undefined;
let subscription: ConsumerMessages | undefined;
const closers: (() => Promise<unknown>)[] = [];
/** Function runs in flight (sync and publish-app-events). */
const runs = new Set<Promise<unknown>>();
let mongoOpened = false;

let interrupted = false;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        log(`cleanup: ${what} failed (${errorText(error)})`);
      }
    };
    // No new deliveries, then let the runs in flight finish (else one could write to the
    // database after it is dropped, and recreate it).
    for (const close of closers.reverse()) await attempt("closing a server", close);
    await Promise.race([Promise.allSettled([...runs]), sleep(5_000)]);
    if (subscription) await attempt("stopping the consumer", async () => subscription?.close());
    if (subscriberConnection) await attempt("closing the subscriber connection", async () => subscriberConnection?.close());
    if (publisher) await attempt("closing the publisher", async () => publisher?.close());
    if (mongoOpened) {
      await attempt(`dropping ${dbName}`, async () => (await connectMongo(mongoConfig())).dropDatabase());
      await attempt("closing MongoDB", closeMongoConnections);
    }
    if (nats) await attempt("stopping nats-server", async () => nats?.close());
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

function mongoConfig() {
  return { uri: mongoUri as string, dbName, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 };
}

// ---------------------------------------------------------------------------------------------
// 1. Publish throughput and latency

async function benchPublish(url: string): Promise<void> {
  publisher = createAppEventPublisher({ url, logger: silent });
  const template = appEventFixture("app/user.updated", "user_bench_publish");
  const eventFor = (index: number) => ({ ...template, id: `bench-publish:${process.pid}:${index}`, ts: Date.now() });

  // Warm-up: opens the connection and creates the stream (not measured).
  const warm = await publisher.publish(eventFor(-1));
  if (warm.duplicate) throw new Error("warm-up publish reported a duplicate");

  log(`publish: ${publishCount} events, ${publishInFlight} in flight`);
  const latencies: number[] = [];
  let next = 0;
  let duplicates = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: publishInFlight }, async () => {
      while (next < publishCount) {
        const event = eventFor(next++);
        const sent = performance.now();
        const ack = await (publisher as AppEventPublisher).publish(event);
        latencies.push(performance.now() - sent);
        if (ack.duplicate) duplicates += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (duplicates > 0) throw new Error(`publish: ${duplicates} distinct events were reported as duplicates`);
  if (latencies.length !== publishCount) throw new Error(`publish: ${latencies.length} of ${publishCount} publishes completed`);
  latencies.sort((a, b) => a - b);
  const perSecond = publishCount / seconds;
  log(`publish: ${seconds.toFixed(2)} s, ${perSecond.toFixed(0)} events/s, p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${percentile(latencies, 100).toFixed(2)} ms`);
  figure("nats_publish_events_per_s", perSecond, "events/s", 0);
  figure("nats_publish_p50_ms", percentile(latencies, 50), "ms");
  figure("nats_publish_p99_ms", percentile(latencies, 99), "ms");
}

// ---------------------------------------------------------------------------------------------
// 2. Webhook → Inngest event → sync function → outbox → publish-app-events → JetStream

interface InngestEvent {
  name: string;
  id?: string;
  ts?: number;
  data: Record<string, unknown>;
}

/**
 * Inngest's Event API at its HTTP boundary (`POST /e/:key`, answers `{ ids, status: 200 }`, as
 * test/support/inngest-event-api.ts does), which also hands each accepted event to `onEvent`
 * at once: the stand-in for Inngest scheduling the triggered function (its queueing is not modelled).
 */
async function startEventApiStandIn(onEvent: (event: InngestEvent) => void): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "POST" || !/^\/e\/[^/?]+/.test(req.url ?? "")) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let events: InngestEvent[];
      try {
        events = JSON.parse(Buffer.concat(chunks).toString("utf8")) as InngestEvent[];
      } catch {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "bad json", status: 400 }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ids: events.map((event, index) => event.id ?? `evt_${index}`), status: 200 }));
      for (const event of events) onEvent(event);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Pending {
  expectedName: string;
  postedAt: number;
  arrivedAt?: number;
  arrived: Deferred<number>;
  /** The sync run for this delivery finished (the next delivery of the user may start). */
  synced: Deferred<void>;
}

async function benchWebhookToStream(url: string): Promise<void> {
  const connection = await connectMongo(mongoConfig());
  mongoOpened = true;
  await connection.dropDatabase();
  const users = userModelFor(connection);
  const audit = createAuditLog(connection);
  const store = createUserStore(users, { audit });

  const pending = new Map<string, Pending>();
  const failures: string[] = [];
  const unexpected: string[] = [];
  const track = (run: Promise<unknown>) => {
    runs.add(run);
    void run.finally(() => runs.delete(run));
  };
  /** POST → 200 (verify, validate, hand to the Event API stand-in), for the stderr breakdown. */
  const answeredMs: number[] = [];
  const fail = (svixId: string | undefined, why: string) => {
    failures.push(`${svixId ?? "?"}: ${why}`);
    const entry = svixId ? pending.get(svixId) : undefined;
    entry?.arrived.reject(new Error(why));
    entry?.synced.reject(new Error(why));
  };

  // publish-app-events, on the same publisher (one connection per process, as in production).
  const functions = syncFunctionEngines(
    async () => store,
    () => Promise.reject(new Error("no maintenance services in this bench")),
    {
      audit: async () => audit,
      // The outbox's `send` is Inngest's: it returns once the events are accepted; each then
      // triggers its own publish-app-events run (handed over directly here, like the Event API stand-in).
      outbox: async () =>
        createOutboxPublisher(users, async (events: AppEvent[]) => {
          for (const event of events) track(runPublishAppEvent({ ...event, ts: Date.now() }));
        }),
    },
  );
  const publishFunction = createPublishAppEvents(functions.inngest, { publisher: async () => publisher ?? null });

  async function runPublishAppEvent(event: InngestEvent): Promise<void> {
    const { error, result } = await new InngestTestEngine({ function: publishFunction }).execute({ events: [event as never] });
    if (error) fail(String(event.data.sourceEventId ?? ""), `publish-app-events ${event.id} failed: ${errorText(error)}`);
    else if (!result || typeof result !== "object" || !("published" in result)) fail(String(event.data.sourceEventId ?? ""), `publish-app-events ${event.id} did not publish: ${JSON.stringify(result)}`);
  }

  async function runSync(event: InngestEvent): Promise<void> {
    const svixId = event.id;
    try {
      const { error, result } = await functions.engineFor(event.name).execute({ events: [event as never] });
      if (error) fail(svixId, `${event.name} sync run failed: ${errorText(error)}`);
      // A batch of one: the run reports one outcome per event.
      else if (!Array.isArray(result) || result.length !== 1 || result[0]?.kind === "skipped" || result[0]?.kind === "rejected") fail(svixId, `${event.name} sync produced no change: ${JSON.stringify(result)}`);
      else if (svixId) pending.get(svixId)?.synced.resolve();
    } catch (error) {
      fail(svixId, `${event.name} sync run threw: ${errorText(error)}`);
    }
  }

  const eventApi = await startEventApiStandIn((event) => track(runSync(event)));
  closers.push(eventApi.close);
  const inngest = createInngestClient({ ...testInngestConfig, baseUrl: eventApi.baseUrl }, silent);
  const handler = createClerkWebhookHandler({
    verify: createClerkWebhookVerifier(testSigningSecret),
    sendEvent: (event) => inngest.send(event),
    maxBodyBytes: 512 * 1024,
    logger: silent,
  });
  const webhook = await serveHandler(handler);
  closers.push(webhook.close);
  const webhookUrl = `${webhook.url}/api/webhooks/clerk`;

  // The observer: an ordered (ephemeral) consumer from the next stream sequence on.
  subscriberConnection = await connect({ ...connectionOptionsFor(parseNatsUrl(url)), name: "bench observer", timeout: 2_000 });
  const jsm = await jetstreamManager(subscriberConnection, { timeout: 2_000 });
  const startSeq = (await jsm.streams.info(appEventsStream)).state.last_seq + 1;
  const consumer = await jetstream(subscriberConnection).consumers.get(appEventsStream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq,
  });
  subscription = await consumer.consume();
  const seen = new Map<string, number>();
  const observing = (async () => {
    for await (const message of subscription as ConsumerMessages) {
      const at = performance.now();
      const correlationId = message.headers?.get(appEventHeaders.correlationId) ?? "";
      seen.set(correlationId, (seen.get(correlationId) ?? 0) + 1);
      const entry = pending.get(correlationId);
      if (!entry) {
        unexpected.push(`seq ${message.seq} (${message.subject}, correlation ${correlationId || "none"})`);
        continue;
      }
      const body = message.json<{ name?: string }>();
      if (body.name !== entry.expectedName) {
        fail(correlationId, `expected ${entry.expectedName} on the stream, got ${String(body.name)}`);
        continue;
      }
      if (entry.arrivedAt === undefined) {
        entry.arrivedAt = at;
        entry.arrived.resolve(at - entry.postedAt);
      }
    }
  })();

  /** One signed delivery, timed from just before the POST until its app event is on the stream. */
  async function deliver(type: "user.created" | "user.updated", svixId: string, data: unknown): Promise<number> {
    const body = JSON.stringify(clerkEnvelope(type, data, Date.now()));
    const signed = signDelivery(body, { id: svixId });
    const entry: Pending = {
      expectedName: type === "user.created" ? "app/user.created" : "app/user.updated",
      postedAt: 0,
      arrived: deferred<number>(),
      synced: deferred<void>(),
    };
    pending.set(svixId, entry);
    entry.postedAt = performance.now();
    const response = await fetch(webhookUrl, { method: "POST", body: signed.body, headers: signed.headers });
    const answer = await response.text();
    answeredMs.push(performance.now() - entry.postedAt);
    if (response.status !== 200) fail(svixId, `webhook answered ${response.status}: ${answer.slice(0, 300)}`);
    const timeout = setTimeout(() => fail(svixId, `no app event on the stream within ${arrivalTimeoutMs} ms`), arrivalTimeoutMs);
    try {
      const ms = await entry.arrived.promise;
      await entry.synced.promise; // Inngest's per-user concurrency: the user's next run waits for this one.
      return ms;
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Each user: created, then updated (a field consumers see changes, so one app event each). */
  async function deliverUsers(prefix: string, users: number, deliveries: number, inFlight: number, latencies: number[]): Promise<void> {
    const base = Date.now() - 3_600_000;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(inFlight, users) }, async () => {
        while (next < users) {
          const index = next++;
          const id = `user_${prefix}${String(index).padStart(5, "0")}`;
          const createdAt = base + index * 1_000;
          const created = clerkUser({ id, createdAt, updatedAt: createdAt, firstName: "Ada" });
          latencies.push(await deliver("user.created", `msg_${prefix}${index}_c`, created));
          if (2 * index + 1 < deliveries) {
            const updated = clerkUser({ id, createdAt, updatedAt: createdAt + 60_000, firstName: "Grace" });
            latencies.push(await deliver("user.updated", `msg_${prefix}${index}_u`, updated));
          }
        }
      }),
    );
  }

  try {
    log(`webhook → stream: warm-up (${warmUpUsers * 2} deliveries, not counted)`);
    await deliverUsers(`warm${process.pid}_`, warmUpUsers, warmUpUsers * 2, 1, []);

    const userCount = Math.ceil(deliveryCount / 2);
    log(`webhook → stream: ${deliveryCount} deliveries for ${userCount} users, ${e2eInFlight} users in flight`);
    const measuredPrefix = `e2e${process.pid}_`;
    const latencies: number[] = [];
    answeredMs.length = 0;
    const started = performance.now();
    try {
      await deliverUsers(measuredPrefix, userCount, deliveryCount, e2eInFlight, latencies);
    } catch (error) {
      throw new Error(`webhook → stream stopped (${errorText(error)}); failures so far:\n  ${failures.slice(0, 20).join("\n  ")}`, { cause: error });
    }
    const seconds = (performance.now() - started) / 1000;
    await Promise.allSettled([...runs]);

    // Every measured delivery: exactly one message on the stream.
    const measured = [...pending.keys()].filter((svixId) => svixId.startsWith(`msg_${measuredPrefix}`));
    const onStream = measured.filter((svixId) => pending.get(svixId)?.arrivedAt !== undefined).length;
    const doubled = measured.filter((svixId) => (seen.get(svixId) ?? 0) > 1);
    if (failures.length > 0) throw new Error(`${failures.length} deliveries failed:\n  ${failures.slice(0, 20).join("\n  ")}`);
    if (unexpected.length > 0) throw new Error(`unexpected messages on the stream: ${unexpected.slice(0, 20).join(", ")}`);
    if (doubled.length > 0) throw new Error(`${doubled.length} deliveries reached the stream more than once: ${doubled.slice(0, 20).join(", ")}`);
    if (measured.length !== deliveryCount || onStream !== deliveryCount || latencies.length !== deliveryCount) {
      throw new Error(`webhook_to_stream_count is ${onStream} (sent ${measured.length}, timed ${latencies.length}), expected ${deliveryCount}`);
    }

    latencies.sort((a, b) => a - b);
    log(
      `webhook → stream: ${seconds.toFixed(2)} s (${(deliveryCount / seconds).toFixed(0)} deliveries/s), ` +
        `p50 ${percentile(latencies, 50).toFixed(2)} ms, p90 ${percentile(latencies, 90).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${percentile(latencies, 100).toFixed(2)} ms`,
    );
    answeredMs.sort((a, b) => a - b);
    log(`webhook → stream: of which the webhook's answer (POST → 200) p50 ${percentile(answeredMs, 50).toFixed(2)} ms, p99 ${percentile(answeredMs, 99).toFixed(2)} ms`);
    figure("webhook_to_stream_p50_ms", percentile(latencies, 50), "ms");
    figure("webhook_to_stream_p99_ms", percentile(latencies, 99), "ms");
    figure("webhook_to_stream_count", onStream, "messages");
  } finally {
    await Promise.allSettled([...runs]);
    await subscription.close().catch(() => undefined);
    await observing.catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------

const watchdog = setTimeout(() => {
  log(`still running after ${overallTimeoutMs / 1000} s: giving up`);
  void cleanup().finally(() => process.exit(1));
}, overallTimeoutMs);
watchdog.unref();

let exitCode = 0;
logLoad("start");
try {
  nats = await startNatsServer();
  log(`nats-server -js on ${nats.url}, store ${nats.storeDir}; database ${dbName}`);
  await benchPublish(nats.url);
  await benchWebhookToStream(nats.url);
  logLoad("end");
} catch (error) {
  exitCode = 1;
  if (interrupted) log("interrupted");
  else log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
if (exitCode === 0) process.stdout.write(`${figures.join("\n")}\n`);
process.exit(exitCode);
