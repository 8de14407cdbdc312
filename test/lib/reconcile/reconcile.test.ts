import type { UserJSON } from "@clerk/backend";
import mongoose, { type mongo } from "mongoose";
import { describe, expect, it, vi } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { createClerkUserDirectory } from "../../../lib/clerk/clerk-user-directory.js";
import { createOutboxPublisher } from "../../../lib/events/outbox.js";
import { createLogger } from "../../../lib/logger.js";
import { type ChunkOptions, type ReconcileDeps, scanChunk, sweepChunk } from "../../../lib/reconcile/reconcile-chunks.js";
import { runReconciliation, type RunMode, startOrResumeRun } from "../../../lib/reconcile/run-reconciliation.js";
import { createRunReports } from "../../../lib/reconcile/run-reports.js";
import type { AppEvent, SyncEvent } from "../../../lib/sync/types.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { userModelFor } from "../../../lib/users/user-model.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { useClerkBackendApi } from "../../support/clerk-backend-api.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { testSecretKey } from "../../support/clerk-tokens.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const clerkApi = useClerkBackendApi(testSecretKey);

const pageSize = 10;
function deps(): ReconcileDeps {
  return {
    directory: createClerkUserDirectory({ apiUrl: clerkApi().url, secretKey: testSecretKey, maxRequestsPer10Seconds: 10_000 }),
    store: createUserStore(db.users()),
    users: db.users(),
    reports: createRunReports(db.connection()),
    logger: createLogger("silent"),
  };
}
const chunking: ChunkOptions = { pageSize, pagesPerChunk: 2, pagesPerBatch: 1 };
/** One whole run, as the CLI makes it: a report, the users, the report closed. */
async function reconcile(mode: RunMode = {}, using: ReconcileDeps = deps(), options: Parameters<typeof runReconciliation>[2] = chunking) {
  const run = await startOrResumeRun(using, "test", mode);
  const counts = await runReconciliation(using, run, options);
  await using.reports.finish(run.id, { counts });
  return counts;
}

let created = 0;
function inClerk(id: string, updatedAt = 1_000, extra: Partial<Parameters<typeof clerkUser>[0]> = {}): UserJSON {
  created += 1;
  const user = clerkUser({ id, createdAt: created, updatedAt, ...extra });
  clerkApi().users.set(id, user);
  return user;
}
async function stored(user: UserJSON) {
  await createUserStore(db.users()).apply({ kind: "upsert", userId: user.id, snapshot: toUserSnapshot(clerkUserSchema.parse(user)) });
}
const ids = (count: number, prefix = "user_r") => Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(4, "0")}`);

describe("reconciliation against Clerk's user list", () => {
  it("creates missing users, updates stale ones, leaves unchanged ones unwritten, tombstones deleted ones", async () => {
    for (const id of ids(25)) await stored(inClerk(id));
    const staleInDb = inClerk("user_stale", 1_000);
    await stored(staleInDb);
    clerkApi().users.set("user_stale", { ...staleInDb, updated_at: 2_000, first_name: "Renamed" });
    inClerk("user_missing");
    await stored(clerkUser({ id: "user_gone", updatedAt: 1_000 }));
    const before = await db.users().findById("user_r0003").lean();

    const counts = await reconcile();
    expect(counts).toEqual({ scanned: 27, created: 1, updated: 1, tombstoned: 1, unchanged: 25, failed: 0 });
    expect((await db.users().findById("user_stale").lean())?.firstName).toBe("Renamed");
    expect(await db.users().findById("user_missing").lean()).toMatchObject({ email: "user_missing@example.com" });
    expect((await db.users().findById("user_gone").lean())?.deletedAt).toBeInstanceOf(Date);
    expect(await db.users().findById("user_r0003").lean()).toEqual(before);
    expect(clerkApi().calls.filter((call) => call.path === "/v1/users/user_gone")).toHaveLength(1);
  });

  it("is idempotent: a second run changes nothing", async () => {
    for (const id of ids(12)) inClerk(id);
    await reconcile();
    expect(await reconcile()).toEqual({ scanned: 12, created: 0, updated: 0, tombstoned: 0, unchanged: 12, failed: 0 });
  });

  it("backs off on 429 using Retry-After, then carries on", async () => {
    for (const id of ids(5)) inClerk(id);
    clerkApi().rateLimitNext(2, 1);
    const started = Date.now();
    expect((await reconcile()).created).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  it("never tombstones a live user that a deletion during the scan shifted out of the pages; the next run catches the deletion", async () => {
    for (const id of ids(40)) await stored(inClerk(id));
    // After the first page is read, the first three users are deleted: offsets shift left by
    // three, and users 10–12 are never listed. They are candidates, not tombstones. The three
    // deleted ones were listed before their deletion: this run saw them alive.
    let deleted = false;
    clerkApi().onList((offset) => {
      if (offset === pageSize && !deleted) {
        deleted = true;
        for (const id of ids(3)) clerkApi().users.delete(id);
      }
    });
    expect((await reconcile()).tombstoned).toBe(0);
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(40);
    clerkApi().onList(undefined);
    expect((await reconcile()).tombstoned).toBe(3);
    const tombstoned = (await db.users().find({ deletedAt: { $ne: null } }, { _id: 1 }).lean()).map((doc) => doc._id).sort();
    expect(tombstoned).toEqual(ids(3));
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(37);
  });

  it("picks up a user created during the scan, this run or the next", async () => {
    for (const id of ids(30)) inClerk(id);
    clerkApi().onList((offset) => {
      if (offset === pageSize) inClerk("user_new_midscan");
    });
    const first = await reconcile();
    clerkApi().onList(undefined);
    const second = await reconcile();
    expect(first.created + second.created).toBe(31);
    const doc = await db.users().findById("user_new_midscan").lean();
    expect(doc?.email).toBe("user_new_midscan@example.com");
    expect(doc?.deletedAt ?? null).toBeNull();
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(31);
  });

  it("counts an unusable user as failed and keeps going", async () => {
    inClerk("user_ok");
    clerkApi().users.set("user_bad", { id: "user_bad", created_at: 999_999 } as unknown as UserJSON);
    const counts = await reconcile();
    expect(counts).toMatchObject({ scanned: 2, created: 1, failed: 1 });
  });

  it("a dry run reports the drift and writes nothing", async () => {
    inClerk("user_a");
    await stored(clerkUser({ id: "user_b", updatedAt: 1 }));
    const drift: unknown[] = [];
    const counts = await reconcile({ dryRun: true }, deps(), { pageSize, onDrift: (items) => drift.push(...items) });
    expect(counts).toMatchObject({ created: 1, tombstoned: 1 });
    expect(drift).toEqual([
      { userId: "user_a", change: "create" },
      { userId: "user_b", change: "tombstone" },
    ]);
    expect(await db.users().findById("user_a").lean()).toBeNull();
    expect((await db.users().findById("user_b").lean())?.deletedAt).toBeUndefined();
  });

  it("keeps each chunk bounded: a scan chunk reads at most pagesPerChunk pages, and checkpoints where the next starts", async () => {
    for (const id of ids(35)) inClerk(id);
    const using = deps();
    const run = await startOrResumeRun(using, "test", {});
    const chunk = await scanChunk(using, run, { pageSize, pagesPerChunk: 2 });
    expect(chunk.counts.scanned).toBe(20);
    expect(await using.reports.state(run.id)).toMatchObject({ phase: "scan", offset: 20, counts: { scanned: 20, created: 20 } });
    expect([...clerkApi().listServed.keys()]).toEqual([0, 10]);
  });

  it("in sync, the sweep asks Clerk about nobody: one list request a page and no lookups", async () => {
    for (const id of ids(45)) await stored(inClerk(id));
    clerkApi().calls.length = 0;
    expect(await reconcile()).toEqual({ scanned: 45, created: 0, updated: 0, tombstoned: 0, unchanged: 45, failed: 0 });
    expect(clerkApi().lookups()).toBe(0);
    expect(clerkApi().calls.filter((call) => call.path.startsWith("/v1/users/user_"))).toHaveLength(0);
    expect([...clerkApi().listServed.entries()]).toEqual([0, 10, 20, 30, 40].map((offset) => [offset, 1]));
  });

  it("keeps up to three of the pages Clerk's count says exist in flight, and requests none past the end", async () => {
    for (const id of ids(65)) inClerk(id);
    const using = deps();
    let inFlight = 0;
    let mostInFlight = 0;
    const listPage = using.directory.listPage.bind(using.directory);
    using.directory = Object.assign(Object.create(using.directory) as ReconcileDeps["directory"], {
      listPage: async (offset: number, limit: number) => {
        mostInFlight = Math.max(mostInFlight, (inFlight += 1));
        try {
          return await listPage(offset, limit);
        } finally {
          inFlight -= 1;
        }
      },
    });
    clerkApi().setDelay(20);
    expect(await reconcile({}, using, { pageSize, pagesPerChunk: 20, pagesPerBatch: 2 })).toMatchObject({ scanned: 65, created: 65, failed: 0 });
    expect(mostInFlight).toBe(3);
    expect([...clerkApi().listServed.entries()].sort(([a], [b]) => a - b)).toEqual([0, 10, 20, 30, 40, 50, 60].map((offset) => [offset, 1]));
  });

  it("with our users' states in memory (the CLI), a batch is pagesPerBatch pages' worth of users to write: one checkpoint a chunk in sync, one every pagesPerBatch pages cold", async () => {
    const checkpointsOf = async (options: ChunkOptions) => {
      const using = deps();
      let checkpoints = 0;
      const checkpoint = using.reports.checkpoint.bind(using.reports);
      using.reports = Object.assign(Object.create(using.reports) as ReconcileDeps["reports"], {
        checkpoint: (...args: Parameters<typeof checkpoint>) => ((checkpoints += 1), checkpoint(...args)),
      });
      const counts = await reconcile({}, using, options);
      return { counts, checkpoints };
    };
    for (const id of ids(80)) inClerk(id);
    const options: ChunkOptions = { pageSize, pagesPerChunk: 4, pagesPerBatch: 2 };
    // Cold: every user is written, 20 a batch (two pages); 8 full pages and the empty end of the list, then the sweep's.
    expect(await checkpointsOf(options)).toEqual({ counts: expect.objectContaining({ scanned: 80, created: 80 }), checkpoints: 4 + 1 + 1 });
    // In sync but one user: one batch a chunk (4 pages), then the list's empty end, then the sweep's.
    clerkApi().users.set("user_r0042", { ...(clerkApi().users.get("user_r0042") as UserJSON), updated_at: 2_000 });
    expect(await checkpointsOf(options)).toEqual({ counts: expect.objectContaining({ scanned: 80, updated: 1, unchanged: 79 }), checkpoints: 2 + 1 + 1 });
  });

  it("finds a deleted user among many by looking up only its bucket's users (at most 100 ids a request)", async () => {
    for (const id of ids(300)) await stored(inClerk(id));
    clerkApi().users.delete("user_r0123");
    clerkApi().calls.length = 0;
    const counts = await reconcile({}, deps(), { pageSize: 100 });
    expect(counts).toMatchObject({ scanned: 299, tombstoned: 1, unchanged: 299, failed: 0 });
    expect(clerkApi().lookups()).toBe(1);
    expect((await db.users().findById("user_r0123").lean())?.deletedAt).toBeInstanceOf(Date);
  });

  it("resumes a run that crashed half-way from its checkpoint: same end result, no page applied twice", async () => {
    for (const id of ids(60)) inClerk(id);
    const staleInDb = inClerk("user_stale_resume", 1_000);
    await stored(staleInDb);
    clerkApi().users.set("user_stale_resume", { ...staleInDb, updated_at: 2_000, first_name: "Renamed" });
    await stored(clerkUser({ id: "user_gone_resume", updatedAt: 1_000 }));
    const applied = new Map<string, number>();
    const crashing = (crashAtBatch: number | null): ReconcileDeps => {
      const real = deps();
      let batches = 0;
      return {
        ...real,
        store: {
          ...real.store,
          async applyBatch(events: readonly SyncEvent[], options) {
            batches += 1;
            if (batches === crashAtBatch) throw new Error("injected crash");
            for (const event of events) if (event.kind === "upsert") applied.set(event.userId, (applied.get(event.userId) ?? 0) + 1);
            return real.store.applyBatch(events, options);
          },
        },
      };
    };
    const first = crashing(4);
    const run = await startOrResumeRun(first, "test", {});
    await expect(runReconciliation(first, run, chunking)).rejects.toThrow("injected crash");
    expect(await first.reports.state(run.id)).toMatchObject({ phase: "scan", offset: 30 });

    const second = crashing(null);
    const resumed = await startOrResumeRun(second, "test", {});
    expect(resumed).toMatchObject({ id: run.id, resumed: true, phase: "scan" });
    const counts = await runReconciliation(second, resumed, chunking);
    await second.reports.finish(resumed.id, { counts });

    expect(counts).toEqual({ scanned: 61, created: 60, updated: 1, tombstoned: 1, unchanged: 0, failed: 0 });
    expect([...applied.values()].every((times) => times === 1)).toBe(true);
    expect(applied.size).toBe(61);
    expect((await db.users().findById("user_stale_resume").lean())?.firstName).toBe("Renamed");
    expect((await db.users().findById("user_gone_resume").lean())?.deletedAt).toBeInstanceOf(Date);
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(61);
    expect((await second.reports.latest(1))[0]).toMatchObject({ _id: run.id, status: "succeeded", progress: { phase: "done" } });
  });

  it("a process whose run was resumed elsewhere stops at its next checkpoint", async () => {
    for (const id of ids(30)) inClerk(id);
    const first = deps();
    const run = await startOrResumeRun(first, "test", {});
    await scanChunk(first, run, { pageSize, pagesPerChunk: 1 });
    const taker = await startOrResumeRun(deps(), "test", {});
    expect(taker.id).toBe(run.id);
    await expect(scanChunk(first, run, { pageSize, pagesPerChunk: 1 })).rejects.toThrow(/resumed elsewhere/);
    // The stopped process applied its second page before its checkpoint was refused: those users come out unchanged.
    expect(await runReconciliation(deps(), taker, chunking)).toMatchObject({ scanned: 30, created: 20, unchanged: 10 });
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(30);
  });

  it("does not resume a run of another mode: it is closed as superseded and a new run starts", async () => {
    for (const id of ids(30)) inClerk(id);
    const using = deps();
    const dry = await startOrResumeRun(using, "test", { dryRun: true });
    await scanChunk(using, dry, { pageSize, pagesPerChunk: 1 });
    const real = await startOrResumeRun(using, "test", {});
    expect(real).toMatchObject({ resumed: false });
    expect(real.id).not.toBe(dry.id);
    const [, closed] = await using.reports.latest(2);
    expect(closed).toMatchObject({ _id: dry.id, status: "failed", error: expect.stringContaining("superseded") });
  });

  it("force rewrites every live user from Clerk whatever the stored version; tombstones stay; a plain run would not", async () => {
    for (const id of ids(12)) await stored(inClerk(id));
    await stored(clerkUser({ id: "user_tomb", updatedAt: 1_000 }));
    await createUserStore(db.users()).apply({ kind: "delete", userId: "user_tomb", deletedAt: new Date(5) });
    inClerk("user_tomb");
    // What an old mapping stored: same Clerk version, different derived fields.
    await db.users().updateMany({ _id: { $in: ids(12) } }, { $set: { firstName: "Old mapping" } });

    expect(await reconcile()).toMatchObject({ updated: 0, unchanged: 13 });
    expect((await db.users().findById("user_r0004").lean())?.firstName).toBe("Old mapping");

    expect(await reconcile({ force: true })).toEqual({ scanned: 13, created: 0, updated: 12, tombstoned: 0, unchanged: 1, failed: 0 });
    expect(await db.users().countDocuments({ firstName: "Old mapping" })).toBe(0);
    expect((await db.users().findById("user_tomb").lean())?.deletedAt).toEqual(new Date(5));
    const [report] = await createRunReports(db.connection()).latest(1);
    expect(report).toMatchObject({ force: true, status: "succeeded", counts: { updated: 12 } });
  });

  describe("in steady state, an unchanged user costs no parse and no read of its own", () => {
    /** 40 users in sync, 2 changed in Clerk since, 1 new. */
    async function steadyState() {
      for (const id of ids(40)) await stored(inClerk(id));
      const changed = ["user_r0007", "user_r0031"];
      for (const id of changed) clerkApi().users.set(id, { ...(clerkApi().users.get(id) as UserJSON), updated_at: 2_000, first_name: "Renamed" });
      inClerk("user_new");
      return [...changed, "user_new"].sort();
    }
    /** The ids whose payload went through the full zod parse. */
    function watchParses() {
      const parse = vi.spyOn(clerkUserSchema, "safeParse");
      return {
        ids: () => parse.mock.calls.map(([user]) => (user as { id: string }).id).sort(),
        [Symbol.dispose]: () => parse.mockRestore(),
      };
    }

    it("the CLI's run (one pass over our users' states) parses and maps only the users whose version differs", async () => {
      const expected = await steadyState();
      using parses = watchParses();
      expect(await reconcile()).toEqual({ scanned: 41, created: 1, updated: 2, tombstoned: 0, unchanged: 38, failed: 0 });
      expect(parses.ids()).toEqual(expected);
      expect((await db.users().findById("user_r0031").lean())?.firstName).toBe("Renamed");
    });

    it("the Inngest job's chunks (a state read a batch) parse and map only the users whose version differs", async () => {
      const expected = await steadyState();
      using parses = watchParses();
      const using_ = deps();
      const run = await startOrResumeRun(using_, "test", {});
      let phase = "scan";
      while (phase === "scan") phase = (await scanChunk(using_, run, chunking)).phase;
      while (phase === "sweep") phase = (await sweepChunk(using_, run, chunking)).phase;
      expect(await using_.reports.state(run.id)).toMatchObject({ counts: { scanned: 41, created: 1, updated: 2, unchanged: 38, tombstoned: 0, failed: 0 } });
      expect(parses.ids()).toEqual(expected);
    });

    it("force parses and rewrites every live user, as before", async () => {
      await steadyState();
      using parses = watchParses();
      expect(await reconcile({ force: true })).toMatchObject({ scanned: 41, created: 1, updated: 40, unchanged: 0 });
      expect(parses.ids()).toHaveLength(41);
    });
  });

  it("publishes a chunk's app events in one group at its end, not one publication a batch; none is left in the outboxes", async () => {
    for (const id of ids(80)) await stored(inClerk(id));
    for (const id of ["user_r0003", "user_r0052"]) clerkApi().users.set(id, { ...(clerkApi().users.get(id) as UserJSON), updated_at: 2_000, first_name: "Renamed" });
    await db.users().collection.updateMany({}, { $unset: { outbox: 1 } }); // the creations' events, published long ago
    const sent: AppEvent[][] = [];
    const using: ReconcileDeps = { ...deps(), outbox: createOutboxPublisher(db.users(), async (events) => void sent.push(events)) };
    const run = await startOrResumeRun(using, "test", {});
    // Two batches of four pages, one changed user in each.
    expect((await scanChunk(using, run, { pageSize, pagesPerChunk: 8, pagesPerBatch: 4 })).counts).toMatchObject({ scanned: 80, updated: 2 });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.map((event) => event.name)).toEqual(["app/user.updated", "app/user.updated"]);
    expect(sent[0]?.map((event) => event.data.userId).sort()).toEqual(["user_r0003", "user_r0052"]);
    expect(await db.users().countDocuments({ "outbox.id": { $exists: true } })).toBe(0);
  });

  it("round trips: a batch of pages costs one state read, then one read and one write of its changed users, then its checkpoint", async () => {
    for (const id of ids(80)) await stored(inClerk(id));
    for (const id of ["user_r0003", "user_r0052"]) clerkApi().users.set(id, { ...(clerkApi().users.get(id) as UserJSON), updated_at: 2_000 });
    // A connection of the test's own, whose commands the driver reports (one `commandStarted` a round trip).
    const connection = await mongoose.createConnection(db.config.uri, { dbName: db.config.dbName, monitorCommands: true, autoIndex: false, autoCreate: false }).asPromise();
    const commands: string[] = [];
    connection.getClient().on("commandStarted", (event: mongo.CommandStartedEvent) => commands.push(event.commandName));
    // The driver ends idle sessions on its own schedule: not the reconciliation's round trips.
    const roundTrips = () => commands.filter((name) => name !== "endSessions");
    try {
      const users = userModelFor(connection);
      const monitored: ReconcileDeps = { ...deps(), store: createUserStore(users), users, reports: createRunReports(connection) };
      const run = await startOrResumeRun(monitored, "test", {});
      const options = { pageSize, pagesPerChunk: 8, pagesPerBatch: 4 };
      commands.length = 0;
      // Pages 1-4 hold user_r0003 (changed), pages 5-8 user_r0052 (changed): two batches, the same cost each.
      expect((await scanChunk(monitored, run, options)).counts).toMatchObject({ scanned: 80, updated: 2, unchanged: 78 });
      // The states; the changed user's document (the store's read); its bulk write; the checkpoint.
      const batch = ["find", "find", "update", "update"];
      expect(roundTrips()).toEqual(["find", ...batch, ...batch]); // after the run's report
      await monitored.reports.finish(run.id, { counts: await runReconciliation(monitored, run, options) });
      // In sync: each batch is its state read and its checkpoint.
      const again = await startOrResumeRun(monitored, "test", {});
      commands.length = 0;
      expect((await scanChunk(monitored, again, options)).counts).toMatchObject({ scanned: 80, unchanged: 80 });
      expect(roundTrips()).toEqual(["find", "find", "update", "find", "update"]);
    } finally {
      await connection.close();
    }
  });
});
