import { NonRetriableError } from "inngest";
import { describe, expect, it } from "vitest";
import { toDeleteEvent, toUpsertEvent } from "../../../inngest/functions/apply-clerk-user-event.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { clerkUser, clerkUserDeleted } from "../../support/clerk-fixtures.js";
import { syncFunctionEngines } from "../../support/inngest.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const { engineFor, functions, inngest } = syncFunctionEngines(async () => createUserStore(db.users()));

const run = (name: string, data: Record<string, unknown>, extra: { id?: string; ts?: number } = {}) =>
  engineFor(name).execute({ events: [{ name, data, ...extra }] });

describe("the Clerk user functions, run by @inngest/test", () => {
  it("registers one batched function per Clerk user event, with no per-user key (a key would see only a batch's first event)", () => {
    const config = functions.map((fn) => fn["opts"]);
    expect(functions.map((fn) => fn.id(inngest.id)).slice(0, 3)).toEqual([
      "clerk-mongo-sync-test-sync-clerk-user-created",
      "clerk-mongo-sync-test-sync-clerk-user-updated",
      "clerk-mongo-sync-test-sync-clerk-user-deleted",
    ]);
    for (const opts of config.slice(0, 3)) {
      expect(opts.batchEvents).toEqual({ maxSize: 100, timeout: "1s" });
      expect(opts.concurrency).toBeUndefined();
    }
  });

  it("clerk/user.created creates the user", async () => {
    const { result, error } = await run("clerk/user.created", clerkUser({ id: "user_1", updatedAt: 2_000 }) as never, { id: "msg_1" });
    expect(error).toBeUndefined();
    expect(result).toEqual([{ kind: "created" }]);
    expect(await db.users().findById("user_1").lean()).toMatchObject({ email: "user_1@example.com" });
  });

  it("clerk/user.updated applies a newer version and skips an older one", async () => {
    await run("clerk/user.created", clerkUser({ id: "user_1", updatedAt: 2_000 }) as never);
    const newer = await run("clerk/user.updated", clerkUser({ id: "user_1", updatedAt: 3_000, firstName: "Newer" }) as never);
    expect(newer.result).toEqual([{ kind: "updated" }]);
    const older = await run("clerk/user.updated", clerkUser({ id: "user_1", updatedAt: 2_500, firstName: "Older" }) as never);
    expect(older.result).toEqual([{ kind: "skipped", reason: "stale" }]);
    expect((await db.users().findById("user_1").lean())?.firstName).toBe("Newer");
  });

  it("clerk/user.updated arriving before clerk/user.created still creates the user (direct path: no id, no ts)", async () => {
    const updated = await run("clerk/user.updated", clerkUser({ id: "user_1", updatedAt: 3_000, firstName: "Later" }) as never);
    expect(updated.result).toEqual([{ kind: "created" }]);
    const created = await run("clerk/user.created", clerkUser({ id: "user_1", updatedAt: 2_000 }) as never);
    expect(created.result).toEqual([{ kind: "skipped", reason: "stale" }]);
    expect((await db.users().findById("user_1").lean())?.firstName).toBe("Later");
  });

  it("clerk/user.deleted tombstones the user, dated by the event time", async () => {
    await run("clerk/user.created", clerkUser({ id: "user_1", updatedAt: 2_000 }) as never);
    const deleted = await run("clerk/user.deleted", clerkUserDeleted("user_1"), { ts: 5_000 });
    expect(deleted.result).toEqual([{ kind: "deleted" }]);
    expect((await db.users().findById("user_1").lean())?.deletedAt).toEqual(new Date(5_000));
    const zombie = await run("clerk/user.updated", clerkUser({ id: "user_1", updatedAt: 9_000 }) as never);
    expect(zombie.result).toEqual([{ kind: "skipped", reason: "tombstoned" }]);
  });

  it("a payload that fails validation stops with NonRetriableError and writes nothing", async () => {
    const { error } = await run("clerk/user.updated", { id: "user_1", object: "user" });
    // Validated per event by the function (not by the SDK, which would fail a whole batch for one).
    expect((error as Error).name).toBe("NonRetriableError");
    expect((error as Error).message).toMatch(/updated_at/);
    expect(await db.users().countDocuments()).toBe(0);
  });

  it("a transient database error fails the run as retryable (not NonRetriableError)", async () => {
    const networkError = () => Object.assign(new Error("connection 3 to 127.0.0.1:27017 closed"), { name: "MongoNetworkError" });
    const flaky = syncFunctionEngines(async () => ({
      apply: async () => {
        throw networkError();
      },
      applyBatch: async () => {
        throw networkError();
      },
      applyEvents: async () => {
        throw networkError();
      },
    }));
    const { error } = await flaky.engineFor("clerk/user.created").execute({
      events: [{ name: "clerk/user.created", data: clerkUser({ id: "user_1", updatedAt: 1 }) as never }],
    });
    // The run fails with the database's own error, which Inngest retries with backoff.
    expect(error).toMatchObject({ name: "MongoNetworkError", message: expect.stringContaining("closed") });
  });

  it("a batch applies each user once, whatever its order and duplicates, and reports every event", async () => {
    const { result, error } = await engineFor("clerk/user.updated").execute({
      events: [
        { name: "clerk/user.updated", id: "m1", data: clerkUser({ id: "user_1", updatedAt: 3_000, firstName: "Third" }) as never },
        { name: "clerk/user.updated", id: "m2", data: clerkUser({ id: "user_2", updatedAt: 1_000 }) as never },
        { name: "clerk/user.updated", id: "m3", data: clerkUser({ id: "user_1", updatedAt: 2_000, firstName: "Second" }) as never },
        { name: "clerk/user.updated", id: "m4", data: clerkUser({ id: "user_1", updatedAt: 3_000, firstName: "Third" }) as never },
      ],
    });
    expect(error).toBeUndefined();
    expect(result).toEqual([{ kind: "created" }, { kind: "created" }, { kind: "skipped", reason: "stale" }, { kind: "skipped", reason: "duplicate" }]);
    expect((await db.users().findById("user_1").lean())?.firstName).toBe("Third");
    expect(await db.users().countDocuments()).toBe(2);
  });

  it("the functions' own payload guard throws NonRetriableError", () => {
    expect(() => toUpsertEvent({ id: "user_1" })).toThrow(NonRetriableError);
    expect(() => toDeleteEvent({}, 1)).toThrow(NonRetriableError);
    expect(toDeleteEvent({ id: "user_1", deleted: true }, 5)).toEqual({ kind: "delete", userId: "user_1", deletedAt: new Date(5) });
  });
});
