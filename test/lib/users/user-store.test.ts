import mongoose, { type mongo } from "mongoose";
import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import type { SyncEvent } from "../../../lib/sync/types.js";
import { createAuditLog } from "../../../lib/audit/audit-log.js";
import { userModelFor } from "../../../lib/users/user-model.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { clerkUser, type UserFixtureOptions } from "../../support/clerk-fixtures.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const store = () => createUserStore(db.users());

function upsert(options: Partial<UserFixtureOptions> & { updatedAt: number }): SyncEvent {
  const user = clerkUserSchema.parse(clerkUser({ id: "user_1", createdAt: 1_000, ...options }));
  return { kind: "upsert", userId: user.id, snapshot: toUserSnapshot(user) };
}
const remove = (id = "user_1", at = 9_000): SyncEvent => ({ kind: "delete", userId: id, deletedAt: new Date(at) });
const stored = (id = "user_1") => db.users().findById(id).lean();

/**
 * A store whose first call to `method` lets another writer apply `meanwhile` first: the
 * race between a store's read and its write, made deterministic.
 */
function storeRacing(method: "updateOne" | "bulkWrite", meanwhile: SyncEvent) {
  const model = db.users();
  const state = { interleaved: false };
  /** `target[method]`, except that its first call lets the other writer go first. */
  const interleave = <T extends object>(target: T) =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (property !== method || state.interleaved) return typeof value === "function" ? value.bind(object) : value;
        return async (...args: unknown[]) => {
          state.interleaved = true;
          await createUserStore(model).apply(meanwhile);
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      },
    });
  // A batch's bulk write goes through the driver's collection; a single write through the model.
  const collection = interleave(model.collection);
  const racy = createUserStore(
    new Proxy(interleave(model), {
      get(object, property, receiver) {
        return property === "collection" ? collection : Reflect.get(object, property, receiver);
      },
    }),
  );
  return { racy, state };
}

describe("user store on a real MongoDB-wire server", () => {
  it("creates a user keyed by the Clerk id, with every synced field", async () => {
    await expect(store().apply(upsert({ updatedAt: 2_000, firstName: "Grace", publicMetadata: { role: "admin" } }))).resolves.toEqual({
      kind: "created",
    });
    const doc = await stored();
    expect(doc).toMatchObject({
      _id: "user_1",
      email: "user_1@example.com",
      firstName: "Grace",
      publicMetadata: { role: "admin" },
      banned: false,
      clerkCreatedAt: new Date(1_000),
      clerkUpdatedAt: new Date(2_000),
    });
    expect(doc?.createdAt).toBeInstanceOf(Date);
    expect(doc?.updatedAt).toBeInstanceOf(Date);
    expect(doc?.deletedAt ?? null).toBeNull();
  });

  it("is idempotent: the same event twice writes once", async () => {
    const event = upsert({ updatedAt: 2_000 });
    await store().apply(event);
    const first = await stored();
    await expect(store().apply(event)).resolves.toEqual({ kind: "skipped", reason: "duplicate" });
    expect(await stored()).toEqual(first);
  });

  it("never lets an older event overwrite newer data", async () => {
    await store().apply(upsert({ updatedAt: 3_000, firstName: "New" }));
    await expect(store().apply(upsert({ updatedAt: 2_000, firstName: "Old" }))).resolves.toEqual({
      kind: "skipped",
      reason: "stale",
    });
    expect((await stored())?.firstName).toBe("New");
    await expect(store().apply(upsert({ updatedAt: 4_000, firstName: "Newer" }))).resolves.toEqual({ kind: "updated" });
    expect((await stored())?.firstName).toBe("Newer");
  });

  it("keeps a deleted user deleted: later creates and updates do not resurrect it", async () => {
    await store().apply(upsert({ updatedAt: 2_000 }));
    await expect(store().apply(remove())).resolves.toEqual({ kind: "deleted" });
    await expect(store().apply(upsert({ updatedAt: 5_000, firstName: "Zombie" }))).resolves.toEqual({
      kind: "skipped",
      reason: "tombstoned",
    });
    const doc = await stored();
    expect(doc?.deletedAt).toEqual(new Date(9_000));
    expect(doc?.firstName).not.toBe("Zombie");
    await expect(store().apply(remove())).resolves.toEqual({ kind: "skipped", reason: "duplicate" });
  });

  it("a deletion that arrives before the creation leaves a tombstone the creation respects", async () => {
    await expect(store().apply(remove("user_2"))).resolves.toEqual({ kind: "deleted" });
    await expect(store().apply(upsert({ id: "user_2", updatedAt: 2_000 }))).resolves.toEqual({
      kind: "skipped",
      reason: "tombstoned",
    });
    const doc = await stored("user_2");
    expect(doc).toMatchObject({ _id: "user_2", deletedAt: new Date(9_000) });
    expect(doc?.email).toBeUndefined();
    expect(await db.users().countDocuments()).toBe(1);
  });

  it("concurrent first inserts of one user resolve the duplicate-key race instead of throwing", async () => {
    const events = Array.from({ length: 12 }, () => upsert({ updatedAt: 2_000 }));
    const outcomes = await Promise.all(events.map((event) => store().apply(event)));
    expect(outcomes.filter((outcome) => outcome.kind === "created")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.kind === "skipped")).toHaveLength(11);
    expect(await db.users().countDocuments()).toBe(1);
  });

  it("an update decided before a deletion landed misses: the tombstone stands", async () => {
    await store().apply(upsert({ updatedAt: 2_000 }));
    const { racy } = storeRacing("updateOne", remove());
    await expect(racy.apply(upsert({ updatedAt: 3_000, firstName: "Zombie" }))).resolves.toEqual({ kind: "skipped", reason: "tombstoned" });
    const doc = await stored();
    expect(doc?.deletedAt).toEqual(new Date(9_000));
    expect(doc?.firstName).not.toBe("Zombie");
  });

  it("a write decided from a state that changed meanwhile misses, and the event is decided again", async () => {
    await store().apply(upsert({ updatedAt: 2_000, firstName: "v2000" }));
    const { racy, state } = storeRacing("updateOne", upsert({ updatedAt: 7_000, firstName: "v7000" }));
    await expect(racy.apply(upsert({ updatedAt: 3_000, firstName: "v3000" }))).resolves.toEqual({ kind: "skipped", reason: "stale" });
    expect(state.interleaved).toBe(true);
    expect((await stored())?.firstName).toBe("v7000");
  });

  it("truly concurrent deliveries of different versions end in the newest", async () => {
    // MongoDB evaluates an update's filter and applies it atomically per document. FerretDB 1.24 as
    // released read, then wrote back (two concurrent compare-and-set updates could both match);
    // ../shared/tools/ferretdb.sh builds it with a write lock, so this runs on every server.
    for (let round = 0; round < 5; round += 1) {
      await db.users().deleteMany({});
      const versions = [2_000, 3_000, 4_000, 5_000, 6_000, 7_000];
      const events = versions.map((updatedAt) => upsert({ updatedAt, firstName: `v${updatedAt}` }));
      await Promise.all([...events, ...events].map((event) => store().apply(event)));
      const doc = await stored();
      expect(doc?.firstName).toBe("v7000");
      expect(doc?.clerkUpdatedAt).toEqual(new Date(7_000));
    }
  });

  it("a deletion racing updates always wins", async () => {
    const events = [2_000, 3_000, 4_000].map((updatedAt) => upsert({ updatedAt }));
    await Promise.all([remove(), ...events, remove()].map((event) => store().apply(event)));
    expect((await stored())?.deletedAt).toEqual(new Date(9_000));
  });
});

describe("app events from the store", () => {
  it("an update whose metadata differs from the stored copy only in key order announces nothing", async () => {
    // Inngest re-serialises payloads with sorted keys; the stored copy keeps Clerk's order.
    await store().apply(upsert({ updatedAt: 2_000, publicMetadata: { role: "admin", plan: { tier: "pro", seats: 5 } } }));
    await db.users().updateOne({ _id: "user_1" }, { $set: { outbox: [] } });
    await expect(store().apply(upsert({ updatedAt: 3_000, publicMetadata: { plan: { seats: 5, tier: "pro" }, role: "admin" } }))).resolves.toEqual({
      kind: "updated",
    });
    expect((await stored())?.outbox).toEqual([]);
    await store().apply(upsert({ updatedAt: 4_000, publicMetadata: { plan: { seats: 6, tier: "pro" }, role: "admin" } }));
    expect((await stored())?.outbox?.map((event) => event.data.changedFields)).toEqual([["publicMetadata"]]);
  });
});

describe("applyBatch: many users in two round trips, same rules", () => {
  it("creates missing users, updates stale ones, writes nothing for unchanged or tombstoned ones", async () => {
    await store().apply(upsert({ id: "user_stale", updatedAt: 1_000, firstName: "Old" }));
    await store().apply(upsert({ id: "user_same", updatedAt: 2_000 }));
    await store().apply(remove("user_dead"));
    const sameBefore = await stored("user_same");

    const outcomes = await store().applyBatch([
      upsert({ id: "user_new", updatedAt: 2_000 }),
      upsert({ id: "user_stale", updatedAt: 3_000, firstName: "New" }),
      upsert({ id: "user_same", updatedAt: 2_000 }),
      upsert({ id: "user_dead", updatedAt: 9_000 }),
    ]);
    expect(outcomes).toEqual([
      { kind: "created" },
      { kind: "updated" },
      { kind: "skipped", reason: "duplicate" },
      { kind: "skipped", reason: "tombstoned" },
    ]);
    expect((await stored("user_stale"))?.firstName).toBe("New");
    expect(await stored("user_same")).toEqual(sameBefore);
    expect((await stored("user_dead"))?.email).toBeUndefined();
  });

  it("decides without writing in a dry run", async () => {
    const outcomes = await store().applyBatch([upsert({ id: "user_dry", updatedAt: 1 })], { dryRun: true });
    expect(outcomes).toEqual([{ kind: "created" }]);
    expect(await db.users().countDocuments()).toBe(0);
  });

  it("settles a user another writer inserted between the batch's read and its write", async () => {
    const { racy } = storeRacing("bulkWrite", upsert({ id: "user_race", updatedAt: 5_000, firstName: "Webhook" }));
    const outcomes = await racy.applyBatch([upsert({ id: "user_a1", updatedAt: 1 }), upsert({ id: "user_race", updatedAt: 4_000, firstName: "Scan" })]);
    expect(outcomes[0]).toEqual({ kind: "created" });
    expect(outcomes[1]).toEqual({ kind: "skipped", reason: "stale" });
    expect((await stored("user_race"))?.firstName).toBe("Webhook");
    expect(await db.users().countDocuments()).toBe(2);
  });

  it("when one update's guard misses, the others stand and only that user is decided again", async () => {
    await store().apply(upsert({ id: "user_x", updatedAt: 1_000, firstName: "Old" }));
    await store().apply(upsert({ id: "user_y", updatedAt: 1_000, firstName: "Old" }));
    const { racy } = storeRacing("bulkWrite", upsert({ id: "user_x", updatedAt: 9_000, firstName: "Webhook" }));
    const outcomes = await racy.applyBatch([
      upsert({ id: "user_x", updatedAt: 2_000, firstName: "Scan" }),
      upsert({ id: "user_y", updatedAt: 2_000, firstName: "Scan" }),
      upsert({ id: "user_z", updatedAt: 2_000, firstName: "Scan" }),
    ]);
    expect(outcomes).toEqual([{ kind: "skipped", reason: "stale" }, { kind: "updated" }, { kind: "created" }]);
    expect((await stored("user_x"))?.firstName).toBe("Webhook");
    expect((await stored("user_y"))?.firstName).toBe("Scan");
    expect((await stored("user_z"))?.outbox?.map((event) => event.id)).toEqual(["app/user.created:user_z"]);
  });

  it("users another writer moved on between the batch's read and its write are settled together: one more read and bulk write, not a round trip a user", async () => {
    const ids = Array.from({ length: 10 }, (_, n) => `user_b${n}`);
    for (const id of ids) await store().apply(upsert({ id, updatedAt: 1_000, firstName: "Old" }));
    // A connection of the test's own, whose commands the driver reports (one `commandStarted` a round trip).
    const connection = await mongoose.createConnection(db.config.uri, { dbName: db.config.dbName, monitorCommands: true, autoIndex: false, autoCreate: false }).asPromise();
    const commands: string[] = [];
    connection.getClient().on("commandStarted", (event: mongo.CommandStartedEvent) => commands.push(event.commandName));
    try {
      const users = userModelFor(connection);
      let interleaved = false;
      // Just before the batch's bulk write, another writer (on the suite's connection, not counted) moves half the users on.
      const collection = new Proxy(users.collection, {
        get(object, property, receiver) {
          const value = Reflect.get(object, property, receiver);
          if (property !== "bulkWrite" || interleaved) return typeof value === "function" ? value.bind(object) : value;
          return async (...args: unknown[]) => {
            interleaved = true;
            for (const id of ids.slice(0, 5)) await store().apply(upsert({ id, updatedAt: 1_500, firstName: "Other" }));
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        },
      });
      const racy = createUserStore(new Proxy(users, { get: (object, property, receiver) => (property === "collection" ? collection : Reflect.get(object, property, receiver)) }));
      const outcomes = await racy.applyBatch(ids.map((id) => upsert({ id, updatedAt: 2_000, firstName: "Scan" })));
      expect(outcomes).toEqual(ids.map(() => ({ kind: "updated" })));
      // The read, the bulk write; which writes landed; the five raced users read and written again together.
      expect(commands.filter((name) => name !== "endSessions")).toEqual(["find", "update", "find", "find", "update"]);
      const docs = await db.users().find({ _id: { $in: ids } }).lean();
      expect(docs.map((doc) => doc.firstName)).toEqual(ids.map(() => "Scan"));
      // Each raced user's app event names what changed since the version it raced (the other writer's).
      const raced = docs.find((doc) => doc._id === "user_b0");
      expect(raced?.outbox?.map((event) => event.id)).toEqual(["app/user.created:user_b0", "app/user.updated:user_b0:1500", "app/user.updated:user_b0:2000"]);
    } finally {
      await connection.close();
    }
  });

  it("refuses two events for one user in one batch", async () => {
    await expect(store().applyBatch([upsert({ updatedAt: 1 }), upsert({ updatedAt: 2 })])).rejects.toThrow(TypeError);
  });
});

/** The store over a model that counts the calls that are round trips to the database. */
function countingStore() {
  const model = db.users();
  const calls: string[] = [];
  const counted = new Proxy(model, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || !["findById", "find", "create", "updateOne", "bulkWrite"].includes(String(property))) return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: createUserStore(counted), calls };
}

describe("apply writes first: the common case of each event in one round trip", () => {
  it("a user's first version (created_at = updated_at) is one insert, with no read", async () => {
    const { store: counting, calls } = countingStore();
    expect(await counting.apply(upsert({ createdAt: 1_000, updatedAt: 1_000 }))).toEqual({ kind: "created" });
    expect(calls).toEqual(["create"]);
    expect((await stored())?.outbox?.map((event) => event.id)).toEqual(["app/user.created:user_1"]);
  });

  it("a live user's deletion is one conditional update, with no read, and announces the deletion", async () => {
    await store().apply(upsert({ updatedAt: 2_000 }));
    const { store: counting, calls } = countingStore();
    expect(await counting.apply(remove())).toEqual({ kind: "deleted" });
    expect(calls).toEqual(["updateOne"]);
    expect((await stored())?.outbox?.map((event) => event.id)).toEqual(["app/user.created:user_1", "app/user.deleted:user_1"]);
  });

  it("when the first write misses, it reads and decides: a redelivered creation is a duplicate, a deletion of an unknown user a tombstone", async () => {
    await store().apply(upsert({ createdAt: 1_000, updatedAt: 1_000 }));
    const { store: counting, calls } = countingStore();
    expect(await counting.apply(upsert({ createdAt: 1_000, updatedAt: 1_000 }))).toEqual({ kind: "skipped", reason: "duplicate" });
    expect(calls).toEqual(["create", "findById"]);
    expect(await counting.apply(remove("user_unknown"))).toEqual({ kind: "deleted" });
    expect((await stored("user_unknown"))?.deletedAt).toEqual(new Date(9_000));
    expect(await counting.apply(remove("user_unknown"))).toEqual({ kind: "skipped", reason: "duplicate" });
  });

  it("an update reads first: its app event names the fields that changed since the stored version", async () => {
    await store().apply(upsert({ updatedAt: 1_000, firstName: "Ada" }));
    const { store: counting, calls } = countingStore();
    expect(await counting.apply(upsert({ updatedAt: 2_000, firstName: "Augusta" }))).toEqual({ kind: "updated" });
    expect(calls).toEqual(["findById", "updateOne"]);
  });
});

describe("applyEvents: a batch as Inngest hands it", () => {
  it("applies each user once (newest version wins), audits every event, and answers in the events' order", async () => {
    const audit = createAuditLog(db.connection());
    const audited = createUserStore(db.users(), { audit });
    await audited.apply(upsert({ id: "user_b", updatedAt: 5_000 }));
    const withOrigin = (event: SyncEvent, sourceEventId: string): SyncEvent => ({ ...event, origin: { source: "webhook", sourceEventId } });
    const outcomes = await audited.applyEvents([
      withOrigin(upsert({ id: "user_a", updatedAt: 2_000, firstName: "Second" }), "m1"),
      withOrigin(upsert({ id: "user_b", updatedAt: 4_000 }), "m2"),
      withOrigin(upsert({ id: "user_a", updatedAt: 3_000, firstName: "Third" }), "m3"),
      withOrigin(upsert({ id: "user_a", updatedAt: 2_000, firstName: "Second" }), "m4"),
      withOrigin(upsert({ id: "user_c", updatedAt: 1_000 }), "m5"),
    ]);
    expect(outcomes).toEqual([
      { kind: "skipped", reason: "stale" },
      { kind: "skipped", reason: "stale" },
      { kind: "created" },
      { kind: "skipped", reason: "stale" },
      { kind: "created" },
    ]);
    expect((await stored("user_a"))?.firstName).toBe("Third");
    const decisions = async (userId: string) => (await audit.history(userId, { limit: 10 })).map(({ sourceEventId, decision }) => `${sourceEventId}:${decision}`).sort();
    expect(await decisions("user_a")).toEqual(["m1:stale", "m3:applied", "m4:stale"]);
    expect(await decisions("user_b")).toEqual(["m2:stale", "null:applied"]);
    expect(await decisions("user_c")).toEqual(["m5:applied"]);
  });

  it("a batch of one event goes the write-first way", async () => {
    const { store: counting, calls } = countingStore();
    expect(await counting.applyEvents([upsert({ createdAt: 1_000, updatedAt: 1_000 })])).toEqual([{ kind: "created" }]);
    expect(calls).toEqual(["create"]);
  });
});
