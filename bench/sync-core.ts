/**
 * The sync core under a webhook stream: `npx tsx bench/sync-core.ts`.
 * Figures on stdout (`name: value unit`), progress on stderr.
 *
 * BENCH_SYNC_EVENTS (default 50,000) `user.created` / `user.updated` payloads for a fifth as many
 * users (each user: one creation and 3–4 updates, each a newer `updated_at`), 10% of them
 * delivered twice, all shuffled: the arrival order webhooks and Inngest give. Each is handled
 * the way the Inngest functions do, 8 runs in flight and at most one per user (Inngest's
 * `concurrency: { limit: 1, key: "clerk-user:" + id }`), which serialises a user's runs but does
 * not order them:
 *
 * - OURS: `toUpsertEvent(data)` then the real store's `apply()` (inngest/functions/*).
 * - NAIVE: the same parsing and mapping, then one `findOneAndUpdate({ _id }, { $set }, { upsert: true })`.
 *
 * Each runs on an empty database of its own; afterwards every user is compared with its newest
 * version (a user whose stored state is not the newest is stale). OURS must leave none.
 * Absolute database timings are FerretDB's here: compare ratios and round trips.
 *
 * Env: MONGODB_URI (required), BENCH_SYNC_EVENTS (50000), BENCH_SYNC_CONCURRENCY (8),
 * BENCH_SYNC_SEED (1).
 */
import type { UserJSON } from "@clerk/backend";
import { toUpsertEvent } from "../inngest/functions/apply-clerk-user-event.js";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import type { SyncOutcome } from "../lib/sync/types.js";
import type { UserModel } from "../lib/users/user-model.js";
import { createUserStore } from "../lib/users/user-store.js";
import { clerkUser } from "../test/support/clerk-fixtures.js";
import { type BenchDatabase, figure, intEnv, keepStdoutForFigures, log, logLoad, openBenchDatabase, requireMongoUri, seededRandom } from "./support/reconcile-harness.js";

keepStdoutForFigures();
const mongoUri = requireMongoUri();
const eventCount = intEnv("BENCH_SYNC_EVENTS", 50_000);
const concurrency = intEnv("BENCH_SYNC_CONCURRENCY", 8);
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

/**
 * Runs `handle` over `events` with `limit` in flight and at most one per user; a user's next
 * event waits for its running one, in arrival order, while other users' events go ahead.
 */
async function deliver(events: readonly WebhookEvent[], limit: number, handle: (event: WebhookEvent) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const busy = new Set<string>();
  const waiting = new Map<string, WebhookEvent[]>();
  const ready: WebhookEvent[] = [];
  let next = 0;

  const take = (): WebhookEvent | undefined => {
    const queued = ready.shift();
    if (queued) return queued;
    while (next < events.length) {
      const event = events[next++] as WebhookEvent;
      const userId = event.data.id;
      if (!busy.has(userId)) {
        busy.add(userId);
        return event;
      }
      const queue = waiting.get(userId);
      if (queue) queue.push(event);
      else waiting.set(userId, [event]);
    }
    return undefined;
  };
  const release = (userId: string) => {
    const queue = waiting.get(userId);
    const following = queue?.shift();
    if (queue && queue.length === 0) waiting.delete(userId);
    if (following) ready.push(following); // the user stays busy: its next event runs next
    else busy.delete(userId);
  };

  const worker = async () => {
    for (let event = take(); event; event = take()) {
      const started = performance.now();
      try {
        await handle(event);
      } finally {
        latencies.push(performance.now() - started);
        release(event.data.id);
      }
    }
  };
  // A worker finding nothing to take while others run may stop early only when no user waits.
  await Promise.all(Array.from({ length: limit }, worker));
  if (next < events.length || ready.length > 0 || waiting.size > 0) throw new Error("deliver: events left undelivered");
  return latencies;
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
  ms: number;
  eventsPerSecond: number;
  roundTrips: number;
  p50: number;
  p99: number;
  stale: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

async function run(label: string, db: BenchDatabase, events: readonly WebhookEvent[], newest: Map<string, { updatedAt: number; firstName: string }>, handle: (event: WebhookEvent) => Promise<unknown>): Promise<RunResult> {
  await db.drop();
  db.commands.reset();
  log(`${label}: ${events.length} events, ${newest.size} users, ${concurrency} in flight`);
  const started = performance.now();
  const progress = setInterval(() => log(`${label}: ${db.commands.total} round trips so far, ${Math.round((performance.now() - started) / 1000)} s`), 10_000);
  let latencies: number[];
  try {
    latencies = await deliver(events, concurrency, handle);
  } finally {
    clearInterval(progress);
  }
  const ms = performance.now() - started;
  const roundTrips = db.commands.total;
  const commands = db.commands.byName();
  const commandMs = db.commands.msByName();
  const check = await staleUsers(db.users, newest);
  latencies.sort((a, b) => a - b);
  const result = { ms, eventsPerSecond: (events.length / ms) * 1000, roundTrips, p50: percentile(latencies, 50), p99: percentile(latencies, 99), stale: check.stale };
  log(
    `${label}: ${Math.round(ms)} ms, ${result.eventsPerSecond.toFixed(0)} events/s, ${roundTrips} round trips ${JSON.stringify(commands)} ` +
      `waiting ${JSON.stringify(commandMs)} ms; per event p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms; ` +
      `${check.stale} stale users (${check.missing} missing, ${check.extra} unexpected documents)`,
  );
  return result;
}

const databases = { ours: "cms_bench_sync_core_ours", naive: "cms_bench_sync_core_naive" };
const opened: BenchDatabase[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const db of opened) {
      try {
        await db.drop();
      } catch (error) {
        log(`could not drop ${db.connection.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      await db.close().catch(() => undefined);
    }
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

logLoad("start");
try {
  const generating = performance.now();
  const { events, newest } = generate();
  log(`generated ${events.length} events for ${newest.size} users in ${Math.round(performance.now() - generating)} ms`);

  const oursDb = await openBenchDatabase(mongoUri, databases.ours);
  opened.push(oursDb);
  const naiveDb = await openBenchDatabase(mongoUri, databases.naive);
  opened.push(naiveDb);

  // OURS: exactly what sync-clerk-user-created / -updated run.
  const store = createUserStore(oursDb.users);
  const outcomes = new Map<string, number>();
  const ours = await run("ours", oursDb, events, newest, async (event) => {
    const outcome: SyncOutcome = await store.apply(toUpsertEvent(event.data));
    const key = outcome.kind === "skipped" ? `skipped:${outcome.reason}` : outcome.kind;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  });
  log(`ours outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);

  // NAIVE: the same parsing and mapping, then a blind upsert.
  const naive = await run("naive", naiveDb, events, newest, async (event) => {
    const user = clerkUserSchema.parse(event.data);
    await naiveDb.users.findOneAndUpdate({ _id: user.id }, { $set: toUserSnapshot(user) }, { upsert: true });
  });

  figure("sync_core_events", events.length, "events");
  figure("sync_core_ours_events_per_s", ours.eventsPerSecond, "events/s", 0);
  figure("sync_core_naive_events_per_s", naive.eventsPerSecond, "events/s", 0);
  figure("sync_core_ours_vs_naive_throughput", ours.eventsPerSecond / naive.eventsPerSecond, "x");
  figure("sync_core_ours_round_trips", ours.roundTrips, "commands");
  figure("sync_core_naive_round_trips", naive.roundTrips, "commands");
  figure("sync_core_ours_round_trips_per_event", ours.roundTrips / events.length, "commands");
  figure("sync_core_naive_round_trips_per_event", naive.roundTrips / events.length, "commands");
  figure("sync_core_ours_p99", ours.p99, "ms", 1);
  figure("sync_core_naive_p99", naive.p99, "ms", 1);
  figure("sync_core_ours_stale_users", ours.stale, "users");
  figure("sync_core_naive_stale_users", naive.stale, "users");
  logLoad("done");
  if (ours.stale !== 0) throw new Error(`OURS left ${ours.stale} users stale: the sync rules are broken`);
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
