import { describe, expect, it } from "vitest";
import { activityModelFor, activitySchema } from "../../../lib/activity/activity-model.js";
import { createActivityStore } from "../../../lib/activity/activity-store.js";
import type { ActivityEntry } from "../../../lib/activity/session-activity.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const store = () => createActivityStore(db.connection());
const entry = (sessionId: string, at: number, overrides: Partial<ActivityEntry> = {}): ActivityEntry => ({
  _id: `${sessionId}:signed_in`,
  userId: "user_1",
  kind: "signed_in",
  sessionId,
  at: new Date(at),
  clientIp: "203.0.113.7",
  userAgent: "UA",
  ...overrides,
});
const storedUser = (id: string) =>
  createUserStore(db.users()).apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1 }))) });

describe("the session_activity model", () => {
  it("declares the { userId: 1, at: -1 } index in the schema, and the server builds it", async () => {
    expect(activitySchema.indexes()).toContainEqual([{ userId: 1, at: -1 }, expect.anything()]);
    await activityModelFor(db.connection()).createIndexes();
    const indexes = await activityModelFor(db.connection()).collection.indexes();
    expect(indexes.map((index) => index.key)).toContainEqual({ userId: 1, at: -1 });
  });

  it("refuses a field the schema does not know", async () => {
    await expect(activityModelFor(db.connection()).create({ ...entry("s", 1), password: "x" } as unknown as ActivityEntry)).rejects.toThrow(/password/);
  });
});

describe("ActivityStore.record", () => {
  it("inserts an event once: the same id again is a duplicate, and the first record stays", async () => {
    expect(await store().record(entry("sess_1", 1_000))).toBe("recorded");
    expect(await store().record(entry("sess_1", 1_000, { clientIp: "198.51.100.1" }))).toBe("duplicate");
    const records = await activityModelFor(db.connection()).find().lean();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ clientIp: "203.0.113.7", createdAt: expect.any(Date) });
  });

  it("records one of several concurrent deliveries of one event", async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => store().record(entry("sess_1", 1_000))));
    expect(outcomes.filter((outcome) => outcome === "recorded")).toHaveLength(1);
    expect(await activityModelFor(db.connection()).countDocuments()).toBe(1);
  });
});

describe("ActivityStore.advanceUser", () => {
  it("moves each field forward only, field by field", async () => {
    await storedUser("user_1");
    const times = async () => {
      const user = await db.users().findById("user_1").lean();
      return [user?.lastSignInAt?.getTime(), user?.lastActiveAt?.getTime()];
    };
    expect(await store().advanceUser({ userId: "user_1", lastSignInAt: new Date(5_000), lastActiveAt: new Date(6_000) })).toBe("advanced");
    expect(await times()).toEqual([5_000, 6_000]);
    expect(await store().advanceUser({ userId: "user_1", lastSignInAt: new Date(4_000), lastActiveAt: new Date(5_500) })).toBe("unchanged");
    expect(await times()).toEqual([5_000, 6_000]);
    expect(await store().advanceUser({ userId: "user_1", lastSignInAt: null, lastActiveAt: new Date(7_000) })).toBe("advanced");
    expect(await times()).toEqual([5_000, 7_000]);
    expect(await store().advanceUser({ userId: "user_1", lastSignInAt: new Date(5_500), lastActiveAt: new Date(1) })).toBe("advanced");
    expect(await times()).toEqual([5_500, 7_000]);
  });

  it("never creates a user, and never writes to a tombstone", async () => {
    expect(await store().advanceUser({ userId: "user_none", lastSignInAt: new Date(1), lastActiveAt: new Date(1) })).toBe("no-live-user");
    expect(await db.users().countDocuments()).toBe(0);
    await createUserStore(db.users()).apply({ kind: "delete", userId: "user_gone", deletedAt: new Date(1) });
    expect(await store().advanceUser({ userId: "user_gone", lastSignInAt: new Date(9), lastActiveAt: new Date(9) })).toBe("no-live-user");
    const tombstone = await db.users().findById("user_gone").lean();
    expect(tombstone?.deletedAt).toEqual(new Date(1));
    expect(tombstone).not.toHaveProperty("lastSignInAt");
    expect(tombstone).not.toHaveProperty("lastActiveAt");
  });
});

describe("ActivityStore.purgeOlderThan", () => {
  it("deletes the records dated before the cutoff, of every user, and only those", async () => {
    await store().record(entry("sess_old_a", 1_000));
    await store().record(entry("sess_old_b", 1_999, { userId: "user_2" }));
    await store().record(entry("sess_edge", 2_000));
    await store().record(entry("sess_new", 3_000, { userId: "user_2" }));
    expect(await store().purgeOlderThan(new Date(2_000))).toBe(2);
    expect((await activityModelFor(db.connection()).find().sort({ at: 1 }).lean()).map((record) => record.sessionId)).toEqual(["sess_edge", "sess_new"]);
  });
});
