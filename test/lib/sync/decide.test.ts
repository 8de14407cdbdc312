import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { decide } from "../../../lib/sync/decide.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import type { StoredSyncState, SyncEvent, UserSnapshot } from "../../../lib/sync/types.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { seededRandom } from "../../support/random.js";

const deletedAt = new Date("2026-01-02T00:00:00Z");

/** A distinct snapshot per version, through the real mapping (so it has every field the user contract takes from Clerk). */
function snapshot(version: number): UserSnapshot {
  const user = clerkUser({ id: "user_1", createdAt: 1, updatedAt: version, firstName: `v${version}`, emails: [`v${version}@example.com`], publicMetadata: { version } });
  return toUserSnapshot(clerkUserSchema.parse(user));
}
const upsert = (version: number): SyncEvent => ({ kind: "upsert", userId: "user_1", snapshot: snapshot(version) });
const remove: SyncEvent = { kind: "delete", userId: "user_1", deletedAt };
const live = (version: number): StoredSyncState => ({ kind: "live", version });
const tombstoned: StoredSyncState = { kind: "tombstoned", deletedAt };

describe("decide: every stored state against every kind of event", () => {
  it.each([
    ["nothing stored + upsert", null, upsert(5), { kind: "insert", snapshot: snapshot(5) }],
    ["older stored + newer upsert", live(4), upsert(5), { kind: "update", snapshot: snapshot(5), expectedVersion: 4 }],
    ["same version + upsert (duplicate)", live(5), upsert(5), { kind: "skip", reason: "duplicate" }],
    ["newer stored + older upsert (stale)", live(6), upsert(5), { kind: "skip", reason: "stale" }],
    ["tombstone + upsert (no resurrection)", tombstoned, upsert(99), { kind: "skip", reason: "tombstoned" }],
    ["nothing stored + delete", null, remove, { kind: "insert-tombstone", deletedAt }],
    ["live user + delete", live(5), remove, { kind: "tombstone", deletedAt }],
    ["tombstone + delete (duplicate)", tombstoned, remove, { kind: "skip", reason: "duplicate" }],
  ] as const)("%s", (_, stored, event, expected) => {
    expect(decide(stored, event)).toEqual(expected);
  });

  it("never revives a tombstoned user, whatever the version", () => {
    for (const version of [0, 1, Number.MAX_SAFE_INTEGER]) {
      expect(decide(tombstoned, upsert(version))).toEqual({ kind: "skip", reason: "tombstoned" });
    }
  });
});

/** The store's effect, in memory: what the database holds after a decision. */
type Model = { kind: "live"; snapshot: UserSnapshot } | { kind: "tombstoned" } | null;

function stateOf(model: Model): StoredSyncState | null {
  if (!model) return null;
  if (model.kind === "tombstoned") return tombstoned;
  return live(model.snapshot.clerkUpdatedAt.getTime());
}

function applyInMemory(model: Model, event: SyncEvent): Model {
  const decision = decide(stateOf(model), event);
  switch (decision.kind) {
    case "insert":
    case "update":
      return { kind: "live", snapshot: decision.snapshot };
    case "tombstone":
    case "insert-tombstone":
      return { kind: "tombstoned" };
    case "skip":
      return model;
  }
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("decide: convergence whatever the delivery order", () => {
  it("every order of a history ends in its newest state (all 720 orders of 6 events)", () => {
    const history = [upsert(1), upsert(2), upsert(3), upsert(4), upsert(5), upsert(6)];
    for (const order of permutations(history)) {
      const final = order.reduce<Model>(applyInMemory, null);
      expect(final).toEqual({ kind: "live", snapshot: snapshot(6) });
    }
  });

  it("every order of a history with a deletion ends deleted (all 720 orders)", () => {
    const history = [upsert(1), upsert(2), upsert(3), remove, upsert(4), upsert(5)];
    for (const order of permutations(history)) {
      expect(order.reduce<Model>(applyInMemory, null)).toEqual({ kind: "tombstoned" });
    }
  });

  it("applying the same event twice changes nothing the second time", () => {
    for (const event of [upsert(1), upsert(7), remove]) {
      for (const start of [null, { kind: "live", snapshot: snapshot(3) }, { kind: "tombstoned" }] as Model[]) {
        const once = applyInMemory(start, event);
        expect(applyInMemory(once, event)).toEqual(once);
      }
    }
  });

  it("random histories, shuffled and duplicated, converge to the newest state (2,000 seeded cases)", () => {
    const random = seededRandom(20261123);
    for (let trial = 0; trial < 2_000; trial += 1) {
      const versions = Array.from({ length: 1 + random.int(8) }, (_, index) => 1 + index * (1 + random.int(3)));
      const deleted = random.chance(0.3);
      const history: SyncEvent[] = versions.map(upsert);
      if (deleted) history.push(remove);
      const deliveries = history.flatMap((event) => (random.chance(0.4) ? [event, event] : [event]));
      const final = random.shuffle(deliveries).reduce<Model>(applyInMemory, null);
      const newest = Math.max(...versions);
      expect(final).toEqual(deleted ? { kind: "tombstoned" } : { kind: "live", snapshot: snapshot(newest) });
    }
  });
});
