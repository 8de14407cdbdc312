/**
 * Users, organizations and memberships through the Inngest functions' whole path, and the
 * members page: `npx tsx bench/organizations.ts`. Figures on stdout (`name: value unit`),
 * progress on stderr.
 *
 * 1. Throughput. BENCH_ORG_EVENTS (default 50,000) Clerk events (bench/support/org-stream.ts):
 *    users created and updated, organizations created, renamed and deleted, members added,
 *    promoted or demoted, removed, and re-added under a new membership id; 10% of them
 *    delivered twice, all shuffled. Both variants run as Inngest functions executed by the
 *    Inngest SDK's own execution engine (`@inngest/test`), 8 runs in flight:
 *    - OURS: the deployed functions over the sync core api/inngest.ts builds (audited stores,
 *      outbox to a counting sink): user events through `sync-clerk-user-created|updated` in
 *      Inngest's burst batches (up to 100 consecutive events of one name per run, runs racing,
 *      no key), each organization event through `sync-clerk-organization` and each membership
 *      event through `sync-clerk-membership`, one run per event, runs of one concurrency key
 *      (organization; organization + user) one at a time, as Inngest runs them.
 *    - NAIVE: the per-event handler a Clerk → MongoDB sync starts with, one run per event,
 *      serialised per entity: one blind `findOneAndUpdate(upsert)` per event on the same
 *      collections (memberships keyed by organization + user, as ours), `deleteOne` for a
 *      deletion, nothing more (no cascade, no ordering).
 *    Interleaved OURS/NAIVE, BENCH_ORG_RUNS times (3), each on emptied collections (indexes
 *    built as `createIndexes` declares them); median and worst reported. After each run the
 *    database is compared with Clerk's end state (divergences: users, organizations,
 *    memberships): OURS must leave none, with no delivery lost.
 * 2. Convergence. The same stream with 10% of deliveries lost for good and half of the others
 *    by Clerk's direct path (no Svix id, no envelope timestamp), through OURS on a fresh
 *    database; then one reconciliation (users, then organizations and memberships:
 *    lib/reconcile/) against Clerk's Backend API stood in on 127.0.0.1 with the end state.
 *    Divergences before and after: after must be 0.
 * 3. Members page: `GET /api/organizations/{id}/members` of an organization with
 *    BENCH_ORG_PAGE_MEMBERS (1,000) members, paged through by cursor at the largest page the
 *    API allows, through the real route and pipeline, beside the same queries with the driver
 *    alone (bench/support/org-members-page.ts); p50/p99 per page request over
 *    BENCH_ORG_PAGE_SAMPLES (200) requests of each.
 *
 * Absolute database timings are FerretDB's here: compare ratios and round trips.
 * Quick development run (< 1 min): BENCH_ORG_EVENTS=2000 BENCH_ORG_RUNS=1 BENCH_ORG_PAGE_SAMPLES=50;
 * BENCH_ORG_PARTS=throughput,convergence,page picks some parts (all by default).
 *
 * Env: MONGODB_URI (required), BENCH_ORG_EVENTS (50000), BENCH_ORG_RUNS (3), BENCH_ORG_CONCURRENCY (8),
 * BENCH_ORG_PAGE_MEMBERS (1000), BENCH_ORG_PAGE_SAMPLES (200), BENCH_ORG_SEED (1), BENCH_ORG_PARTS.
 */
import { InngestTestEngine } from "@inngest/test";
import { createInngestClient } from "../inngest/client.js";
import { createSyncClerkMembership, createSyncClerkOrganization } from "../inngest/functions/sync-clerk-organization.js";
import { createSyncClerkUserFunctions, type UserEventResult, userEventBatching } from "../inngest/functions/sync-clerk-user.js";
import { createClerkUserDirectory } from "../lib/clerk/clerk-user-directory.js";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../lib/clerk/organization-payload.js";
import { clerkUserSchema } from "../lib/clerk/user-payload.js";
import { createLogger } from "../lib/logger.js";
import { membershipKey } from "../lib/organizations/membership-key.js";
import { type MembershipModel, membershipModelFor } from "../lib/organizations/membership-model.js";
import { type OrganizationModel, organizationModelFor } from "../lib/organizations/organization-model.js";
import { runOrganizationReconciliation } from "../lib/reconcile/reconcile-organizations.js";
import { runReconciliation, startOrResumeRun } from "../lib/reconcile/run-reconciliation.js";
import { createSyncCore, type SyncCore } from "../lib/sync-core.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../lib/sync/to-organization-snapshot.js";
import { toUserSnapshot } from "../lib/sync/to-user-snapshot.js";
import { testInngestConfig } from "../test/support/inngest.js";
import { runPool } from "../test/support/run-pool.js";
import { startClerkStandIn } from "./support/clerk-stand-in.js";
import { startOrganizationStandIn } from "./support/org-clerk-stand-in.js";
import { benchMembersPage } from "./support/org-members-page.js";
import { countDivergences, type Divergences, entityOf, generateStream, faultyDeliveries, type StreamEvent, type Truth } from "./support/org-stream.js";
import { gitCommit, median, percentile } from "./common.js";
import { trackBenchDatabases } from "./support/bench-databases.js";
import { type BenchDatabase, figure, intEnv, keepStdoutForFigures, log, logLoad, requireMongoUri, seededRandom } from "./support/reconcile-harness.js";

keepStdoutForFigures();
const mongoUri = requireMongoUri();
const eventCount = intEnv("BENCH_ORG_EVENTS", 50_000);
const runs = Math.max(1, intEnv("BENCH_ORG_RUNS", 3));
const concurrency = Math.max(1, intEnv("BENCH_ORG_CONCURRENCY", 8));
const pageMembers = Math.max(1, intEnv("BENCH_ORG_PAGE_MEMBERS", 1_000));
const pageSamples = Math.max(1, intEnv("BENCH_ORG_PAGE_SAMPLES", 200));
const seed = intEnv("BENCH_ORG_SEED", 1);
const duplicateShare = 0.1;
const lostShare = 0.1;
const secretKey = "sk_test_bench_organizations";
const allParts = ["throughput", "convergence", "page"] as const;
const parts = new Set(
  (process.env.BENCH_ORG_PARTS?.split(",").map((part) => part.trim()).filter(Boolean) ?? [...allParts]).map((part) => {
    if (!(allParts as readonly string[]).includes(part)) throw new Error(`BENCH_ORG_PARTS: unknown part ${JSON.stringify(part)} (have ${allParts.join(", ")})`);
    return part as (typeof allParts)[number];
  }),
);

/** An Inngest run of OURS: a batch of user events (one function, no key) or one organization/membership event (keyed). */
type OursRun = { kind: "batch"; events: StreamEvent[] } | { kind: "single"; event: StreamEvent };

/**
 * The runs Inngest makes of the stream under a burst: user events gathered per function
 * (name), a run each time 100 are waiting (the rest at the end, after the batch timeout);
 * every organization and membership event its own run, in arrival order.
 */
function oursRuns(events: readonly StreamEvent[]): OursRun[] {
  const open = new Map<string, StreamEvent[]>();
  const result: OursRun[] = [];
  for (const event of events) {
    if (entityOf(event) !== "user") {
      result.push({ kind: "single", event });
      continue;
    }
    const batch = open.get(event.name) ?? [];
    batch.push(event);
    open.set(event.name, batch);
    if (batch.length === userEventBatching.maxSize) {
      result.push({ kind: "batch", events: batch });
      open.delete(event.name);
    }
  }
  for (const batch of open.values()) result.push({ kind: "batch", events: batch });
  return result;
}

/**
 * One run of a function by the SDK's execution engine, steps executed and memoised as Inngest
 * does. The context is passed through as is (as bench/sync-core.ts does): `@inngest/test`'s
 * default wraps every step tool in a spy it never releases (about 230 KB a run, measured here:
 * out of memory after some 15,000 runs), which neither the functions nor Inngest have.
 */
function execute(fn: InngestTestEngine.Options["function"], events: readonly unknown[]) {
  return new InngestTestEngine({ function: fn, transformCtx: (ctx) => ctx }).execute({ events: events as [never, ...never[]] });
}

/** What an event looks like to a function: Clerk's data, the Svix id and the envelope timestamp (the webhook path; the direct path has neither). */
const inngestEvent = (event: StreamEvent) => (event.direct ? { name: event.name, data: event.data } : { name: event.name, data: event.data, id: event.id, ts: event.ts });

interface Models {
  users: BenchDatabase["users"];
  organizations: OrganizationModel;
  memberships: MembershipModel;
}

interface Variant {
  label: "ours" | "naive";
  db: BenchDatabase;
  models: Models;
  pass(events: readonly StreamEvent[]): Promise<void>;
}

const silent = createLogger("silent");
const inngest = createInngestClient(testInngestConfig, silent);

function modelsOf(db: BenchDatabase): Models {
  return { users: db.users, organizations: organizationModelFor(db.connection), memberships: membershipModelFor(db.connection) };
}

/** Every collection emptied, indexes kept (built once, as `createIndexes` declares them). */
async function emptyDatabase(db: BenchDatabase): Promise<void> {
  const collections = await db.connection.listCollections();
  for (const { name } of collections) await db.connection.collection(name).deleteMany({});
}

async function buildIndexes(models: Models): Promise<void> {
  for (const model of [models.users, models.organizations, models.memberships]) await model.createIndexes();
}

/** OURS: the deployed functions over the sync core api/inngest.ts builds, app events to a counting sink. */
async function oursVariant(db: BenchDatabase): Promise<Variant & { core: SyncCore; published: () => number }> {
  let published = 0;
  const core = await createSyncCore(
    { mongo: { uri: mongoUri, dbName: db.connection.name, maxPoolSize: 10, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 }, clerk: { apiUrl: "http://127.0.0.1:9", secretKey }, reconcile: { maxClerkRequestsPer10Seconds: 1_000 } },
    { logger: silent, connection: db.connection, sendEvents: async (sent) => void (published += sent.length) },
  );
  const userFunctions = createSyncClerkUserFunctions(inngest, { users: async () => core.store, outbox: async () => core.outbox, audit: async () => core.audit });
  const byName = new Map<string, (typeof userFunctions)[number]>(userFunctions.map((fn) => [(fn["opts"] as { triggers: { event: string }[] }).triggers[0]?.event ?? "", fn]));
  const organization = createSyncClerkOrganization(inngest, { maintenance: async () => core });
  const membership = createSyncClerkMembership(inngest, { maintenance: async () => core });
  const models = { users: core.users, organizations: core.organizations, memberships: core.memberships };
  let batchNumber = 0;
  return {
    label: "ours",
    db,
    models,
    core,
    published: () => published,
    async pass(events) {
      await runPool(
        oursRuns(events),
        // The functions' concurrency keys: organization; organization + user (the stream's entity keys). User batches: none.
        (run) => (run.kind === "batch" ? `batch-${batchNumber++}` : run.event.key),
        async (run) => {
          if (run.kind === "batch") {
            const fn = byName.get(run.events[0]?.name ?? "");
            if (!fn) throw new Error(`no function for ${run.events[0]?.name}`);
            const { error, result } = await execute(fn, run.events.map(inngestEvent));
            if (error) throw new Error(`run failed: ${JSON.stringify(error)}`);
            if ((result as UserEventResult[]).length !== run.events.length) throw new Error("a run reported fewer events than its batch");
            return;
          }
          const fn = entityOf(run.event) === "organization" ? organization : membership;
          const { error } = await execute(fn, [inngestEvent(run.event)]);
          if (error) throw new Error(`${run.event.name} run failed: ${JSON.stringify(error)}`);
        },
        concurrency,
      );
    },
  };
}

/** NAIVE: one run per event, serialised per entity, a blind upsert (a delete for a deletion). */
function naiveVariant(db: BenchDatabase): Variant {
  const models = modelsOf(db);
  const naive = inngest.createFunction(
    {
      id: "naive-sync-clerk-entities",
      triggers: [
        { event: "clerk/user.created" },
        { event: "clerk/user.updated" },
        { event: "clerk/organization.created" },
        { event: "clerk/organization.updated" },
        { event: "clerk/organization.deleted" },
        { event: "clerk/organizationMembership.created" },
        { event: "clerk/organizationMembership.updated" },
        { event: "clerk/organizationMembership.deleted" },
      ],
      concurrency: { limit: 1, key: "event.data.id" },
    },
    async ({ event, step }) =>
      step.run("write", async () => {
        const name = event.name as StreamEvent["name"];
        if (name === "clerk/user.created" || name === "clerk/user.updated") {
          const user = clerkUserSchema.parse(event.data);
          await models.users.findOneAndUpdate({ _id: user.id }, { $set: toUserSnapshot(user) }, { upsert: true });
          return user.id;
        }
        if (name === "clerk/organization.deleted") {
          const id = (event.data as { id: string }).id;
          await models.organizations.deleteOne({ _id: id });
          return id;
        }
        if (name === "clerk/organization.created" || name === "clerk/organization.updated") {
          const organization = clerkOrganizationSchema.parse(event.data);
          await models.organizations.findOneAndUpdate({ _id: organization.id }, { $set: toOrganizationSnapshot(organization) }, { upsert: true });
          return organization.id;
        }
        const snapshot = toMembershipSnapshot(clerkMembershipSchema.parse(event.data));
        const _id = membershipKey(snapshot.organizationId, snapshot.userId);
        if (name === "clerk/organizationMembership.deleted") await models.memberships.deleteOne({ _id });
        else await models.memberships.findOneAndUpdate({ _id }, { $set: snapshot }, { upsert: true });
        return _id;
      }),
  );
  return {
    label: "naive",
    db,
    models,
    async pass(events) {
      await runPool(events, (event) => event.key, async (event) => {
        const { error } = await execute(naive, [inngestEvent(event)]);
        if (error) throw new Error(`run failed: ${JSON.stringify(error)}`);
      }, concurrency);
    },
  };
}

interface RunResult {
  eventsPerSecond: number;
  roundTrips: number;
  divergences: Divergences;
}

const describe = (d: Divergences) => `${d.total} divergences (users ${d.users}, organizations ${d.organizations}, memberships ${d.memberships})`;

async function measure(variant: Variant, events: readonly StreamEvent[], truth: Truth, round: number): Promise<RunResult> {
  const { db, label } = variant;
  await emptyDatabase(db);
  db.commands.reset();
  const started = performance.now();
  await variant.pass(events);
  const ms = performance.now() - started;
  const roundTrips = db.commands.total;
  const commands = db.commands.byName();
  const divergences = await countDivergences(variant.models, truth);
  const result = { eventsPerSecond: (events.length / ms) * 1000, roundTrips, divergences };
  log(
    `${label} run ${round}: ${Math.round(ms)} ms, ${result.eventsPerSecond.toFixed(0)} events/s, ${roundTrips} round trips ${JSON.stringify(commands)}; ${describe(divergences)}; heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`,
  );
  for (const example of divergences.examples) log(`  ${label}: ${example}`);
  return result;
}

/**
 * The stream with a tenth of its deliveries lost, through OURS on its own database, then one
 * reconciliation of users and of organizations with their members against Clerk's end state.
 */
async function convergence(db: BenchDatabase, events: readonly StreamEvent[], truth: Truth) {
  const ours = await oursVariant(db);
  await buildIndexes(ours.models);
  const delivered = faultyDeliveries(events, seededRandom(seed + 1), { lostShare, directShare: 0.5 });
  log(`convergence: ${events.length - delivered.length} of ${events.length} deliveries lost; applying the other ${delivered.length} (${delivered.filter((event) => event.direct).length} by the direct path)`);
  await ours.pass(delivered);
  const before = await countDivergences(ours.models, truth);
  log(`convergence: before reconciliation, ${describe(before)}`);

  const usersInClerk = await startClerkStandIn(secretKey);
  for (const user of truth.users.values()) usersInClerk.put(user.json);
  const liveOrganizations = [...truth.organizations.values()].filter((organization) => !organization.deleted);
  const liveMemberships = [...truth.memberships.values()].flatMap((membership) => (membership.live ? [membership.live.json] : []));
  const organizationsInClerk = await startOrganizationStandIn(
    secretKey,
    liveOrganizations.map((organization) => organization.json),
    liveMemberships,
  );
  try {
    // Pacing is Clerk's rate limit, not our cost: out of the way here.
    const directoryAt = (apiUrl: string) => createClerkUserDirectory({ apiUrl, secretKey, maxRequestsPer10Seconds: 1_000_000_000 });
    const userDirectory = directoryAt(usersInClerk.url);
    const organizationDirectory = directoryAt(organizationsInClerk.url);
    db.commands.reset();
    const started = performance.now();
    const userDeps = { directory: userDirectory, store: ours.core.store, users: ours.core.users, reports: ours.core.reports, outbox: ours.core.outbox, logger: silent };
    const run = await startOrResumeRun(userDeps, "bench-organizations", {});
    const userCounts = await runReconciliation(userDeps, run);
    await ours.core.reports.finish(run.id, { counts: userCounts });
    const organizationCounts = await runOrganizationReconciliation(
      { ...ours.core, directory: organizationDirectory, logger: silent },
      { runId: run.id },
    );
    const ms = performance.now() - started;
    const roundTrips = db.commands.total;
    log(`convergence: reconciliation ${Math.round(ms)} ms, ${roundTrips} round trips ${JSON.stringify(db.commands.byName())}`);
    log(`convergence: users ${JSON.stringify(userCounts)}`);
    log(`convergence: organizations ${JSON.stringify(organizationCounts)}`);
    const after = await countDivergences(ours.models, truth);
    log(`convergence: after one reconciliation, ${describe(after)}`);
    for (const example of after.examples) log(`  after: ${example}`);
    return { lost: events.length - delivered.length, before, after, ms, roundTrips, clerkRequests: userDirectory.requests + organizationDirectory.requests };
  } finally {
    await usersInClerk.close();
    await organizationsInClerk.close();
  }
}

const databases = { ours: "cms_bench_org_ours", naive: "cms_bench_org_naive", convergence: "cms_bench_org_convergence", page: "cms_bench_org_members_page" };
const benchDatabases = trackBenchDatabases(mongoUri);
const cleanup = benchDatabases.cleanup;

logLoad("start");
log(`date ${new Date().toISOString()}, commit ${gitCommit()}, node ${process.version}`);
try {
  const { events, truth, distinct } = generateStream(eventCount, seededRandom(seed), { duplicateShare });
  const byKind = { user: 0, organization: 0, membership: 0 };
  for (const event of events) byKind[entityOf(event)] += 1;
  const members = [...truth.memberships.values()];
  log(
    `${events.length} events (${distinct} distinct; users ${byKind.user}, organizations ${byKind.organization}, memberships ${byKind.membership}) for ${truth.users.size} users, ` +
      `${truth.organizations.size} organizations (${[...truth.organizations.values()].filter((o) => o.deleted).length} deleted), ${members.length} memberships ` +
      `(${members.filter((m) => m.live).length} live at the end); ${runs} runs of each, interleaved; ${concurrency} runs in flight`,
  );
  const worst = (values: number[], better: "higher" | "lower") => (better === "higher" ? Math.min(...values) : Math.max(...values));
  if (parts.has("throughput") || parts.has("convergence")) figure("organizations_events", events.length, "events");

  if (parts.has("throughput")) {
    const oursDb = await benchDatabases.open(databases.ours);
    const naiveDb = await benchDatabases.open(databases.naive);
    const ours = await oursVariant(oursDb);
    const naive = naiveVariant(naiveDb);
    await buildIndexes(ours.models);
    await buildIndexes(naive.models);

    const results: Record<"ours" | "naive", RunResult[]> = { ours: [], naive: [] };
    const ratios: number[] = [];
    for (let round = 1; round <= runs; round += 1) {
      const a = await measure(ours, events, truth, round);
      const b = await measure(naive, events, truth, round);
      results.ours.push(a);
      results.naive.push(b);
      ratios.push(a.eventsPerSecond / b.eventsPerSecond);
    }
    logLoad("throughput done");
    const perSecond = (variant: "ours" | "naive") => results[variant].map((result) => result.eventsPerSecond);
    const divergences = (variant: "ours" | "naive", kind: keyof Omit<Divergences, "examples">) => results[variant].map((result) => result.divergences[kind]);
    figure("organizations_runs", runs, "runs");
    figure("organizations_ours_events_per_s_median", median(perSecond("ours")), "events/s", 0);
    figure("organizations_naive_events_per_s_median", median(perSecond("naive")), "events/s", 0);
    figure("organizations_ours_vs_naive_throughput_median", median(ratios), "x");
    figure("organizations_ours_vs_naive_throughput_worst", worst(ratios, "higher"), "x");
    figure("organizations_ours_round_trips_per_event", median(results.ours.map((result) => result.roundTrips)) / events.length, "commands", 3);
    figure("organizations_naive_round_trips_per_event", median(results.naive.map((result) => result.roundTrips)) / events.length, "commands", 3);
    figure("organizations_ours_app_events_published_per_run", ours.published() / runs, "events", 0);
    figure("organizations_ours_divergences_worst", worst(divergences("ours", "total"), "lower"), "entities");
    figure("organizations_naive_divergences_worst", worst(divergences("naive", "total"), "lower"), "entities");
    figure("organizations_naive_user_divergences_worst", worst(divergences("naive", "users"), "lower"), "users");
    figure("organizations_naive_organization_divergences_worst", worst(divergences("naive", "organizations"), "lower"), "organizations");
    figure("organizations_naive_membership_divergences_worst", worst(divergences("naive", "memberships"), "lower"), "memberships");
    const oursWorst = worst(divergences("ours", "total"), "lower");
    if (oursWorst !== 0) {
      log(`FAILED: OURS left ${oursWorst} entities diverging with every event delivered: the sync rules are broken`);
      process.exitCode = 1;
    }
  }

  if (parts.has("convergence")) {
    const convergenceDb = await benchDatabases.open(databases.convergence);
    const converged = await convergence(convergenceDb, events, truth);
    logLoad("convergence done");
    figure("organizations_convergence_lost_deliveries", converged.lost, "deliveries");
    figure("organizations_convergence_divergences_before_reconciliation", converged.before.total, "entities");
    figure("organizations_convergence_divergences_after_reconciliation", converged.after.total, "entities");
    figure("organizations_convergence_reconciliation_ms", converged.ms, "ms", 0);
    figure("organizations_convergence_reconciliation_round_trips", converged.roundTrips, "commands");
    figure("organizations_convergence_reconciliation_clerk_requests", converged.clerkRequests, "requests");
    if (converged.after.total !== 0) {
      log(`FAILED: ${converged.after.total} entities still diverge after one reconciliation`);
      process.exitCode = 1;
    }
  }

  if (parts.has("page")) {
    const page = await benchMembersPage({ mongoUri, dbName: databases.page, members: pageMembers, samples: pageSamples });
    logLoad("members page done");
    figure("organizations_members_page_members", pageMembers, "members");
    figure("organizations_members_page_size", page.pageSize, "members");
    figure("organizations_members_page_samples", page.api.length, "requests");
    figure("organizations_members_page_api_p50", percentile(page.api, 50), "ms", 1);
    figure("organizations_members_page_api_p99", percentile(page.api, 99), "ms", 1);
    figure("organizations_members_page_floor_p50", percentile(page.floor, 50), "ms", 1);
    figure("organizations_members_page_floor_p99", percentile(page.floor, 99), "ms", 1);
    figure("organizations_members_page_api_vs_floor_p50", percentile(page.api, 50) / percentile(page.floor, 50), "x");
    figure("organizations_members_page_api_round_trips", page.apiRoundTripsPerPage, "commands", 2);
    figure("organizations_members_page_floor_round_trips", page.floorRoundTripsPerPage, "commands", 2);
  }
  logLoad("done");
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
