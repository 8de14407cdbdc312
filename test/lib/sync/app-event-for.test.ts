import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { appEventFor, sameValue } from "../../../lib/sync/app-event-for.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import type { UserSnapshot } from "../../../lib/sync/types.js";
import { clerkUser } from "../../support/clerk-fixtures.js";

const now = new Date("2026-11-23T12:00:00Z");
const origin = { source: "webhook", sourceEventId: "msg_1" } as const;
/** Ada at version 1000, through the real mapping (so it has every field the user contract takes from Clerk). */
const ada = toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_1", createdAt: 1, updatedAt: 1_000, firstName: "Ada", emails: ["ada@example.com"] })));
function snapshot(overrides: Partial<UserSnapshot> = {}): UserSnapshot {
  return { ...ada, ...overrides };
}

describe("appEventFor: what a sync write announces", () => {
  it("announces a new user as app/user.created, v1, with an id that depends only on the user", () => {
    const event = appEventFor("user_1", { kind: "insert", snapshot: snapshot() }, null, origin, now);
    expect(event).toEqual({
      id: "app/user.created:user_1",
      name: "app/user.created",
      data: {
        v: 1,
        userId: "user_1",
        source: "webhook",
        sourceEventId: "msg_1",
        occurredAt: now.toISOString(),
        user: expect.objectContaining({ email: "ada@example.com", firstName: "Ada", clerkUpdatedAt: new Date(1_000).toISOString() }),
      },
    });
  });

  it("lists exactly the changed fields of an update, with an id per Clerk version", () => {
    const next = snapshot({ firstName: "Augusta", banned: true, publicMetadata: { plan: "pro" }, clerkUpdatedAt: new Date(2_000) });
    const event = appEventFor("user_1", { kind: "update", snapshot: next, expectedVersion: 1_000 }, snapshot(), origin, now);
    expect(event?.id).toBe("app/user.updated:user_1:2000");
    expect(event?.data.changedFields).toEqual(["firstName", "publicMetadata", "banned"]);
  });

  it("compares metadata by value: the same metadata with its keys in another order is no change", () => {
    // Inngest hands payloads back with sorted keys; MongoDB keeps the order they were written in.
    const stored = snapshot({ publicMetadata: { role: "admin", plan: { tier: "pro", seats: 5, tags: ["a", "b"] }, since: null } });
    const resorted = snapshot({
      publicMetadata: { plan: { seats: 5, tags: ["a", "b"], tier: "pro" }, role: "admin", since: null },
      firstName: "Ada",
      clerkUpdatedAt: new Date(2_000),
    });
    expect(JSON.stringify(stored.publicMetadata)).not.toBe(JSON.stringify(resorted.publicMetadata));
    expect(appEventFor("user_1", { kind: "update", snapshot: resorted, expectedVersion: 1_000 }, stored, origin, now)).toBeNull();

    const reordered = snapshot({ publicMetadata: { plan: { tags: ["b", "a"], tier: "pro", seats: 5 }, role: "admin", since: null }, clerkUpdatedAt: new Date(3_000) });
    expect(appEventFor("user_1", { kind: "update", snapshot: reordered, expectedVersion: 1_000 }, stored, origin, now)?.data.changedFields).toEqual([
      "publicMetadata",
    ]);
  });

  it.each([
    [{ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [undefined, null, true],
    [new Date(5), new Date(5), true],
    [{ a: 1 }, { a: "1" }, false],
    [[1, 2], [2, 1], false],
    [{ a: null }, {}, false],
    [{ a: [] }, { a: {} }, false],
  ])("sameValue(%j, %j) is %s", (a, b, expected) => {
    expect(sameValue(a, b)).toBe(expected);
    expect(sameValue(b, a)).toBe(expected);
  });

  it("announces nothing when only fields consumers do not see changed", () => {
    const next = snapshot({ clerkUpdatedAt: new Date(2_000) });
    expect(appEventFor("user_1", { kind: "update", snapshot: next, expectedVersion: 1_000 }, snapshot(), origin, now)).toBeNull();
  });

  it("announces a deletion of a known user, but not a tombstone for a user never seen", () => {
    expect(appEventFor("user_1", { kind: "tombstone", deletedAt: now }, snapshot(), origin, now)?.id).toBe("app/user.deleted:user_1");
    expect(appEventFor("user_1", { kind: "insert-tombstone", deletedAt: now }, null, origin, now)).toBeNull();
  });

  it("gives the same id to the same change whichever path applies it", () => {
    const write = { kind: "update", snapshot: snapshot({ firstName: "B", clerkUpdatedAt: new Date(3_000) }), expectedVersion: 1_000 } as const;
    const viaWebhook = appEventFor("user_1", write, snapshot(), origin, now);
    const viaReconcile = appEventFor("user_1", write, snapshot(), { source: "reconcile", sourceEventId: "run_1" }, new Date(9));
    expect(viaWebhook?.id).toBe(viaReconcile?.id);
  });
});
