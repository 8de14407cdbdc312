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

describe("decide with force (re-derive every user from Clerk after a mapping fix)", () => {
  const states: [string, StoredSyncState | null][] = [
    ["nothing stored", null],
    ["older stored", live(4)],
    ["same version stored", live(5)],
    ["newer stored", live(6)],
    ["tombstone", tombstoned],
  ];
  const events: [string, SyncEvent][] = [
    ["upsert v5", upsert(5)],
    ["delete", remove],
  ];

  it.each([
    ["nothing stored + forced upsert", null, upsert(5), { kind: "insert", snapshot: snapshot(5) }],
    ["older stored + forced upsert", live(4), upsert(5), { kind: "update", snapshot: snapshot(5), expectedVersion: 4 }],
    ["same version + forced upsert: rewritten, guarded by the stored version", live(5), upsert(5), { kind: "update", snapshot: snapshot(5), expectedVersion: 5 }],
    ["newer stored + forced older upsert: still stale", live(6), upsert(5), { kind: "skip", reason: "stale" }],
    ["tombstone + forced upsert: still final", tombstoned, upsert(99), { kind: "skip", reason: "tombstoned" }],
    ["nothing stored + forced delete", null, remove, { kind: "insert-tombstone", deletedAt }],
    ["live user + forced delete", live(5), remove, { kind: "tombstone", deletedAt }],
    ["tombstone + forced delete", tombstoned, remove, { kind: "skip", reason: "duplicate" }],
  ] as const)("%s", (_, stored, event, expected) => {
    expect(decide(stored, event, { force: true })).toEqual(expected);
  });

  it("differs from the plain rules in exactly one cell: a duplicate becomes an update guarded by the stored version", () => {
    for (const [stateName, stored] of states) {
      for (const [eventName, event] of events) {
        const plain = decide(stored, event);
        const forced = decide(stored, event, { force: true });
        const isDuplicateUpsert = event.kind === "upsert" && plain.kind === "skip" && plain.reason === "duplicate";
        if (isDuplicateUpsert) {
          expect(forced, `${stateName} + ${eventName}`).toEqual({ kind: "update", snapshot: event.snapshot, expectedVersion: (stored as { version: number }).version });
        } else {
          expect(forced, `${stateName} + ${eventName}`).toEqual(plain);
        }
        expect(decide(stored, event, { force: false }), `${stateName} + ${eventName}, force: false`).toEqual(plain);
      }
    }
  });

  it("never revives a tombstone nor writes a snapshot older than the stored one, whatever the versions (seeded)", () => {
    const random = seededRandom(18);
    for (let trial = 0; trial < 500; trial += 1) {
      const storedVersion = random.int(20);
      const incoming = random.int(20);
      const decision = decide(live(storedVersion), upsert(incoming), { force: true });
      if (incoming < storedVersion) expect(decision).toEqual({ kind: "skip", reason: "stale" });
      else expect(decision).toEqual({ kind: "update", snapshot: snapshot(incoming), expectedVersion: storedVersion });
      expect(decide(tombstoned, upsert(incoming), { force: true })).toEqual({ kind: "skip", reason: "tombstoned" });
    }
  });

  it("random histories with forced re-deliveries mixed in still converge to the newest state (1,000 seeded cases)", () => {
    const random = seededRandom(20260518);
    const applyMaybeForced = (model: Model, { event, force }: { event: SyncEvent; force: boolean }): Model => {
      const decision = decide(stateOf(model), event, { force });
      if (decision.kind === "skip") return model;
      return decision.kind === "insert" || decision.kind === "update" ? { kind: "live", snapshot: decision.snapshot } : { kind: "tombstoned" };
    };
    for (let trial = 0; trial < 1_000; trial += 1) {
      const versions = Array.from({ length: 1 + random.int(6) }, (_, index) => 1 + index * (1 + random.int(3)));
      const deleted = random.chance(0.3);
      const history: SyncEvent[] = versions.map(upsert);
      if (deleted) history.push(remove);
      const deliveries = history.flatMap((event) => (random.chance(0.5) ? [{ event, force: true }, { event, force: false }] : [{ event, force: random.chance(0.5) }]));
      const final = random.shuffle(deliveries).reduce<Model>(applyMaybeForced, null);
      expect(final).toEqual(deleted ? { kind: "tombstoned" } : { kind: "live", snapshot: snapshot(Math.max(...versions)) });
    }
  });

  it("a forced rewrite is idempotent: applying it again leaves the same stored state", () => {
    for (const start of [null, { kind: "live", snapshot: snapshot(5) }, { kind: "live", snapshot: snapshot(3) }, { kind: "tombstoned" }] as Model[]) {
      const once = decide(stateOf(start), upsert(5), { force: true });
      const after: Model = once.kind === "skip" ? start : once.kind === "insert" || once.kind === "update" ? { kind: "live", snapshot: once.snapshot } : { kind: "tombstoned" };
      const twice = decide(stateOf(after), upsert(5), { force: true });
      const afterTwice: Model = twice.kind === "skip" ? after : twice.kind === "insert" || twice.kind === "update" ? { kind: "live", snapshot: twice.snapshot } : { kind: "tombstoned" };
      expect(afterTwice).toEqual(after);
    }
  });
});
