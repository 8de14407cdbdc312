import { describe, expect, it } from "vitest";
import { createOutboxPublisher } from "../../../lib/events/outbox.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { membershipModelFor } from "../../../lib/organizations/membership-model.js";
import { organizationModelFor } from "../../../lib/organizations/organization-model.js";
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

describe("one outbox publisher for users, organizations and memberships", () => {
  const publisherFor = (send: (events: AppEvent[]) => Promise<unknown>) =>
    createOutboxPublisher(db.users(), send, { organizations: organizationModelFor(db.connection()), memberships: membershipModelFor(db.connection()) });
  const pending = (id: string, name: AppEvent["name"] = "app/membership.created"): AppEvent => ({ id, name, data: { v: 1 } });
  const membershipDoc = (organizationId: string, userId: string, outbox: AppEvent[]) => ({
    _id: `${organizationId}:${userId}`,
    organizationId,
    userId,
    membershipId: `orgmem_${userId}`,
    generation: new Date(1),
    clerkUpdatedAt: new Date(1),
    role: "org:member",
    removedAt: new Date(5),
    outbox,
  });

  it("publishes an organization's and a membership's pending events by id, then removes exactly those", async () => {
    await organizationModelFor(db.connection()).create({ _id: "org_1", name: "Acme", outbox: [pending("app/organization.created:org_1", "app/organization.created")] });
    await membershipModelFor(db.connection()).create(membershipDoc("org_1", "user_1", [pending("app/membership.created:org_1:user_1:orgmem_user_1")]));
    const sent: string[] = [];
    const outbox = publisherFor(async (events) => void sent.push(...events.map((event) => event.id)));
    expect(await outbox.publish(["org_1"], "organizations")).toBe(1);
    expect(await outbox.publish(["org_1:user_1"], "memberships")).toBe(1);
    expect(await outbox.publish(["org_1"], "organizations")).toBe(0);
    expect(sent).toEqual(["app/organization.created:org_1", "app/membership.created:org_1:user_1:orgmem_user_1"]);
    expect((await organizationModelFor(db.connection()).findById("org_1").lean())?.outbox).toEqual([]);
  });

  it("publishes every event a cascade left in the memberships of an organization or a user, page after page", async () => {
    const members = Array.from({ length: 205 }, (_, index) => `user_${String(index).padStart(3, "0")}`);
    await membershipModelFor(db.connection()).insertMany([
      ...members.map((userId) => membershipDoc("org_big", userId, [pending(`app/membership.deleted:org_big:${userId}:orgmem_${userId}`, "app/membership.deleted")])),
      membershipDoc("org_other", "user_000", [pending("app/membership.deleted:org_other:user_000:orgmem_user_000", "app/membership.deleted")]),
      membershipDoc("org_other", "user_x", [pending("app/membership.created:org_other:user_x:orgmem_user_x")]),
    ]);
    const sent: string[] = [];
    const outbox = publisherFor(async (events) => void sent.push(...events.map((event) => event.id)));
    expect(await outbox.publish(["org_big"], { membershipsOf: "organizations" })).toBe(205);
    expect(new Set(sent).size).toBe(205);
    expect(sent.every((id) => id.startsWith("app/membership.deleted:org_big:"))).toBe(true);
    expect(await outbox.publish(["user_000"], { membershipsOf: "users" })).toBe(1);
    expect(sent.at(-1)).toBe("app/membership.deleted:org_other:user_000:orgmem_user_000");
    // Untouched: another user's membership.
    expect(await membershipModelFor(db.connection()).countDocuments({ "outbox.id": { $exists: true } })).toBe(1);
  });

  it("the sweep publishes what is pending in all three collections; users' outboxes keep their shape", async () => {
    await createUserStore(db.users()).apply(upsert("user_1", 1_000));
    await organizationModelFor(db.connection()).create({ _id: "org_1", name: "Acme", outbox: [pending("app/organization.created:org_1", "app/organization.created")] });
    await membershipModelFor(db.connection()).create(membershipDoc("org_1", "user_1", [pending("app/membership.created:org_1:user_1:orgmem_user_1")]));
    const sent: AppEvent[] = [];
    const outbox = publisherFor(async (events) => void sent.push(...events));
    expect(await outbox.publishPending(10)).toBe(3);
    expect(sent.map((event) => event.id)).toEqual(["app/user.created:user_1", "app/organization.created:org_1", "app/membership.created:org_1:user_1:orgmem_user_1"]);
    expect(Object.keys(sent[0] ?? {}).sort()).toEqual(["data", "id", "name"]);
    expect(await outbox.publishPending(10)).toBe(0);
  });

  it("a publisher made for users only still publishes users, and says so when asked for another collection", async () => {
    const outbox = createOutboxPublisher(db.users(), async () => {});
    await expect(outbox.publish(["org_1"], "organizations")).rejects.toThrow("without the organizations model");
  });
});
