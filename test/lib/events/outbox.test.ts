import { describe, expect, it } from "vitest";
import { createOutboxPublisher } from "../../../lib/events/outbox.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import type { AppEvent, SyncEvent } from "../../../lib/sync/types.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const upsert = (id: string, updatedAt: number, firstName = "Ada"): SyncEvent => ({
  kind: "upsert",
  userId: id,
  snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt, firstName }))),
  origin: { source: "webhook", sourceEventId: `msg_${updatedAt}` },
});
const outboxOf = async (id: string) =>
  ((await db.users().findById(id, { outbox: 1 }).lean()) as { outbox?: AppEvent[] } | null)?.outbox ?? [];

describe("the outbox: app events written with the change, published after", () => {
  it("writes the app event in the same write as the change, and nothing for a no-op", async () => {
    const store = createUserStore(db.users());
    await store.apply(upsert("user_1", 1_000));
    expect((await outboxOf("user_1")).map((event) => event.id)).toEqual(["app/user.created:user_1"]);
    await store.apply(upsert("user_1", 1_000)); // duplicate
    await store.apply(upsert("user_1", 500)); // stale
    expect(await outboxOf("user_1")).toHaveLength(1);
    await store.apply(upsert("user_1", 2_000, "Augusta"));
    expect((await outboxOf("user_1")).map((event) => event.id)).toEqual(["app/user.created:user_1", "app/user.updated:user_1:2000"]);
  });

  it("publishes pending events in order, then removes exactly those", async () => {
    const store = createUserStore(db.users());
    await store.apply(upsert("user_1", 1_000));
    await store.apply(upsert("user_1", 2_000, "Augusta"));
    const sent: AppEvent[][] = [];
    const outbox = createOutboxPublisher(db.users(), async (events) => void sent.push(events));
    expect(await outbox.publish(["user_1"])).toBe(2);
    expect(sent.flat().map((event) => event.name)).toEqual(["app/user.created", "app/user.updated"]);
    expect(await outboxOf("user_1")).toEqual([]);
    expect(await outbox.publish(["user_1"])).toBe(0);
  });

  it("re-sends, with the same ids, what a failed publication left behind; never loses it", async () => {
    await createUserStore(db.users()).apply(upsert("user_1", 1_000));
    const failing = createOutboxPublisher(db.users(), async () => {
      throw new Error("Inngest unavailable");
    });
    await expect(failing.publish(["user_1"])).rejects.toThrow("Inngest unavailable");
    expect(await outboxOf("user_1")).toHaveLength(1);
    const sent: string[] = [];
    await createOutboxPublisher(db.users(), async (events) => void sent.push(...events.map((event) => event.id))).publishPending(10);
    expect(sent).toEqual(["app/user.created:user_1"]);
  });

  it("keeps an event appended while a publication was in flight", async () => {
    const store = createUserStore(db.users());
    await store.apply(upsert("user_1", 1_000));
    const outbox = createOutboxPublisher(db.users(), async () => {
      await store.apply(upsert("user_1", 2_000, "Meanwhile"));
    });
    await outbox.publish(["user_1"]);
    expect((await outboxOf("user_1")).map((event) => event.id)).toEqual(["app/user.updated:user_1:2000"]);
  });
});
