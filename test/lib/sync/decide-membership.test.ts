import { describe, expect, it } from "vitest";
import {
  type MembershipChange,
  type MembershipParents,
  type StoredMembershipState,
  compareGenerations,
  decideMembership,
} from "../../../lib/sync/decide-membership.js";
import { seededRandom } from "../../support/random.js";

const live: MembershipParents = { organizationDeleted: false, userDeleted: false };
const old = { membershipId: "orgmem_a", generation: 100 };
const readded = { membershipId: "orgmem_b", generation: 200 };

/** What a store does with a decision: the state after it. */
function applyTo(stored: StoredMembershipState | null, change: MembershipChange, parents = live): StoredMembershipState | null {
  const decision = decideMembership(stored, change, parents);
  const version = { membershipId: change.membershipId, generation: change.generation, version: change.version };
  switch (decision.kind) {
    case "skip":
      return stored;
    case "insert":
      return { kind: "live", ...version };
    case "insert-removed":
      return { kind: "removed", ...version };
    case "replace":
      return { kind: decision.removed ? "removed" : "live", ...version };
  }
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

describe("decideMembership: one membership's history", () => {
  it("inserts the first membership, and a removal that arrives first leaves a removed record", () => {
    expect(decideMembership(null, { kind: "upsert", ...old, version: 1 }, live)).toEqual({ kind: "insert" });
    expect(decideMembership(null, { kind: "delete", ...old, version: 1 }, live)).toEqual({ kind: "insert-removed" });
  });

  it("orders by updated_at within a membership: newer updates, same is a duplicate, older is stale", () => {
    const stored: StoredMembershipState = { kind: "live", ...old, version: 5 };
    expect(decideMembership(stored, { kind: "upsert", ...old, version: 6 }, live)).toEqual({ kind: "replace", expected: { ...old, version: 5 }, removed: false });
    expect(decideMembership(stored, { kind: "upsert", ...old, version: 5 }, live)).toEqual({ kind: "skip", reason: "duplicate" });
    expect(decideMembership(stored, { kind: "upsert", ...old, version: 4 }, live)).toEqual({ kind: "skip", reason: "stale" });
  });

  it("a removal is final for its membership id: no later update revives it", () => {
    const removed: StoredMembershipState = { kind: "removed", ...old, version: 5 };
    expect(decideMembership(removed, { kind: "upsert", ...old, version: 9 }, live)).toEqual({ kind: "skip", reason: "removed" });
    expect(decideMembership(removed, { kind: "delete", ...old, version: 9 }, live)).toEqual({ kind: "skip", reason: "duplicate" });
    const stored: StoredMembershipState = { kind: "live", ...old, version: 9 };
    expect(decideMembership(stored, { kind: "delete", ...old, version: 3 }, live)).toMatchObject({ kind: "replace", removed: true });
  });
});

describe("decideMembership: a member removed and re-added (a new membership id)", () => {
  it("the new membership replaces the old removed one", () => {
    const removed: StoredMembershipState = { kind: "removed", ...old, version: 5 };
    expect(decideMembership(removed, { kind: "upsert", ...readded, version: 1 }, live)).toEqual({ kind: "replace", expected: { ...old, version: 5 }, removed: false });
  });

  it("a late event of the old membership neither revives nor removes the new one", () => {
    const current: StoredMembershipState = { kind: "live", ...readded, version: 1 };
    for (const kind of ["upsert", "delete"] as const) {
      expect(decideMembership(current, { kind, ...old, version: 999 }, live)).toEqual({ kind: "skip", reason: "superseded" });
    }
  });

  it("breaks a generation tie by membership id, the same way everywhere", () => {
    expect(compareGenerations({ membershipId: "orgmem_a", generation: 1 }, { membershipId: "orgmem_b", generation: 1 })).toBeLessThan(0);
    expect(compareGenerations({ membershipId: "orgmem_b", generation: 1 }, { membershipId: "orgmem_a", generation: 1 })).toBeGreaterThan(0);
    expect(compareGenerations({ membershipId: "orgmem_a", generation: 1 }, { membershipId: "orgmem_a", generation: 1 })).toBe(0);
  });
});

describe("decideMembership: deleted organizations and users end memberships", () => {
  const stored: StoredMembershipState = { kind: "live", ...old, version: 5 };
  it.each([
    ["organization-deleted", { organizationDeleted: true, userDeleted: false }],
    ["user-deleted", { organizationDeleted: false, userDeleted: true }],
  ] as const)("creates or updates nothing once the parent is gone (%s)", (reason, parents) => {
    expect(decideMembership(null, { kind: "upsert", ...old, version: 1 }, parents)).toEqual({ kind: "skip", reason });
    expect(decideMembership(stored, { kind: "upsert", ...old, version: 9 }, parents)).toEqual({ kind: "skip", reason });
    expect(decideMembership(stored, { kind: "upsert", ...readded, version: 1 }, parents)).toEqual({ kind: "skip", reason });
  });

  it("still records a removal after the parent is gone (it only takes access away)", () => {
    expect(decideMembership(stored, { kind: "delete", ...old, version: 6 }, { organizationDeleted: true, userDeleted: true })).toMatchObject({ kind: "replace", removed: true });
  });
});

describe("decideMembership: convergence whatever the delivery order", () => {
  const history: MembershipChange[] = [
    { kind: "upsert", ...old, version: 1 },
    { kind: "upsert", ...old, version: 2 },
    { kind: "delete", ...old, version: 3 },
    { kind: "upsert", ...readded, version: 4 },
    { kind: "upsert", ...readded, version: 5 },
  ];

  it("every order of remove-and-re-add ends with the re-added member, at its newest version (all 120 orders)", () => {
    for (const order of permutations(history)) {
      const end = order.reduce<StoredMembershipState | null>((state, change) => applyTo(state, change), null);
      expect(end).toEqual({ kind: "live", ...readded, version: 5 });
    }
  });

  it("every order ending in the new membership's removal ends removed (all 720 orders)", () => {
    const removedAgain: MembershipChange[] = [...history, { kind: "delete", ...readded, version: 6 }];
    for (const order of permutations(removedAgain)) {
      const end = order.reduce<StoredMembershipState | null>((state, change) => applyTo(state, change), null);
      expect(end).toEqual({ kind: "removed", ...readded, version: 6 });
    }
  });

  it("random histories of several generations, shuffled and duplicated, converge to Clerk's last state (2,000 seeded cases)", () => {
    const random = seededRandom(17);
    for (let round = 0; round < 2_000; round += 1) {
      const changes: MembershipChange[] = [];
      let time = 0;
      const generations = 1 + random.int(3);
      for (let g = 0; g < generations; g += 1) {
        const membership = { membershipId: `orgmem_${g}`, generation: (time += 1 + random.int(5)) };
        const updates = 1 + random.int(3);
        for (let u = 0; u < updates; u += 1) changes.push({ kind: "upsert", ...membership, version: (time += 1) });
        // Every generation but the last was removed (that is how a new one comes to exist); the last maybe.
        if (g < generations - 1 || random.chance(0.5)) changes.push({ kind: "delete", ...membership, version: (time += 1) });
      }
      const last = changes.at(-1)!;
      const truth = { kind: last.kind === "delete" ? "removed" : "live", membershipId: last.membershipId, generation: last.generation, version: last.version };
      const deliveries = random.shuffle([...changes, ...changes.filter(() => random.chance(0.3))]);
      const end = deliveries.reduce<StoredMembershipState | null>((state, change) => applyTo(state, change), null);
      expect(end).toEqual(truth);
    }
  });
});
