import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { coalesce } from "../../../lib/sync/coalesce.js";
import { decide } from "../../../lib/sync/decide.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import type { StoredSyncState, SyncEvent } from "../../../lib/sync/types.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { seededRandom } from "../../support/random.js";

const upsert = (userId: string, version: number): SyncEvent => ({
  kind: "upsert",
  userId,
  snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: userId, createdAt: 1, updatedAt: version, firstName: `v${version}` }))),
});
const remove = (userId: string, at: number): SyncEvent => ({ kind: "delete", userId, deletedAt: new Date(at) });

/** The stored state after applying events one by one through the rules (the reference the batch must equal). */
function applyOneByOne(stored: StoredSyncState | null, events: readonly SyncEvent[]): StoredSyncState | null {
  let state = stored;
  for (const event of events) {
    const decision = decide(state, event);
    if (decision.kind === "insert" || decision.kind === "update") state = { kind: "live", version: decision.snapshot.clerkUpdatedAt.getTime() };
    if (decision.kind === "tombstone" || decision.kind === "insert-tombstone") state = { kind: "tombstoned", deletedAt: decision.deletedAt };
  }
  return state;
}

describe("coalesce: one event per user out of a batch", () => {
  it("keeps the newest version; an older one is stale, the same version again a duplicate", () => {
    const events = [upsert("user_1", 3), upsert("user_2", 1), upsert("user_1", 2), upsert("user_1", 3)];
    const { winners, winnerIndexes, superseded } = coalesce(events);
    expect(winnerIndexes).toEqual([0, 1]);
    expect(winners).toEqual([events[0], events[1]]);
    expect(superseded).toEqual([
      { index: 2, reason: "stale" },
      { index: 3, reason: "duplicate" },
    ]);
  });

  it("a deletion wins over every upsert, and duplicate deletions keep the earliest time whatever their order", () => {
    const events = [upsert("user_1", 9), remove("user_1", 500), remove("user_1", 200), upsert("user_1", 10)];
    const { winners, superseded } = coalesce(events);
    expect(winners).toEqual([events[2]]);
    expect(superseded).toEqual([
      { index: 0, reason: "tombstoned" },
      { index: 1, reason: "duplicate" },
      { index: 3, reason: "tombstoned" },
    ]);
  });

  it("an empty batch gives nothing", () => {
    expect(coalesce([])).toEqual({ winners: [], superseded: [], winnerIndexes: [] });
  });

  it("every event is either a winner or superseded, once", () => {
    const random = seededRandom(3);
    const events = Array.from({ length: 200 }, () => (random.chance(0.2) ? remove(`user_${random.int(20)}`, random.int(1_000)) : upsert(`user_${random.int(20)}`, random.int(50))));
    const { winnerIndexes, superseded } = coalesce(events);
    expect([...winnerIndexes, ...superseded.map(({ index }) => index)].sort((a, b) => a - b)).toEqual(events.map((_, index) => index));
    expect(new Set(winnerIndexes.map((index) => events[index]?.userId)).size).toBe(winnerIndexes.length);
  });

  it("applying the winners leaves every user as applying every event one by one, in any order, from any stored state", () => {
    const random = seededRandom(11);
    const storedStates: (StoredSyncState | null)[] = [null, { kind: "live", version: 0 }, { kind: "live", version: 25 }, { kind: "live", version: 99 }, { kind: "tombstoned", deletedAt: new Date(1) }];
    for (let round = 0; round < 2_000; round += 1) {
      const size = 1 + random.int(6);
      const events = Array.from({ length: size }, () => (random.chance(0.15) ? remove("user_1", random.int(1_000)) : upsert("user_1", random.int(50))));
      const stored = storedStates[random.int(storedStates.length)] ?? null;
      const { winners } = coalesce(events);
      expect(winners).toHaveLength(1);
      const expected = applyOneByOne(stored, events);
      const actual = applyOneByOne(stored, winners);
      // A tombstone's date may differ (first deletion seen one by one; earliest in the batch): compare kinds there.
      if (expected?.kind === "tombstoned") expect(actual?.kind).toBe("tombstoned");
      else expect(actual).toEqual(expected);
    }
  });
});
