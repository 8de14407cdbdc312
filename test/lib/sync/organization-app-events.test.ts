import { describe, expect, it } from "vitest";
import {
  appMembershipCreated,
  appMembershipDeleted,
  appMembershipUpdated,
  appOrganizationCreated,
  appOrganizationDeleted,
  appOrganizationUpdated,
} from "../../../inngest/events.js";
import {
  announcedMembershipFields,
  announcedOrganizationFields,
  type MembershipEventState,
  membershipAppEventFor,
  organizationAppEventFor,
} from "../../../lib/sync/organization-app-events.js";
import type { OrganizationSnapshot } from "../../../lib/sync/to-organization-snapshot.js";
import type { AppEvent, SyncOrigin } from "../../../lib/sync/types.js";

const origin: SyncOrigin = { source: "webhook", sourceEventId: "msg_1" };
const now = new Date(Date.UTC(2026, 0, 1));
const schemas: Record<string, { parse(data: unknown): unknown }> = Object.fromEntries(
  [appOrganizationCreated, appOrganizationUpdated, appOrganizationDeleted, appMembershipCreated, appMembershipUpdated, appMembershipDeleted].map((event) => [event.name, event.schema]),
);
/** Every event these rules produce is valid against its declared schema (inngest/events.ts). */
const checked = (event: AppEvent | null) => {
  if (event) expect(schemas[event.name]?.parse(event.data)).toEqual(event.data);
  return event;
};

const organization = (overrides: Partial<OrganizationSnapshot> = {}): OrganizationSnapshot => ({
  name: "Acme",
  slug: "acme",
  imageUrl: null,
  publicMetadata: { plan: "pro", seats: 5 },
  membersCount: 3,
  clerkCreatedAt: new Date(1_000),
  clerkUpdatedAt: new Date(2_000),
  ...overrides,
});

describe("organization app events", () => {
  it("a new organization is `created`, with the organization as consumers see it", () => {
    const event = checked(organizationAppEventFor("org_1", { kind: "insert", snapshot: organization() }, null, origin, now));
    expect(event).toEqual({
      id: "app/organization.created:org_1",
      name: "app/organization.created",
      data: {
        v: 1,
        organizationId: "org_1",
        source: "webhook",
        sourceEventId: "msg_1",
        occurredAt: now.toISOString(),
        organization: { name: "Acme", slug: "acme", imageUrl: null, publicMetadata: { plan: "pro", seats: 5 }, membersCount: 3, clerkUpdatedAt: new Date(2_000).toISOString() },
      },
    });
  });

  it("an update announces exactly the announced fields that changed, and nothing when none did", () => {
    const previous = organization();
    const noChange = organization({ clerkUpdatedAt: new Date(3_000), clerkCreatedAt: new Date(1_000), publicMetadata: { seats: 5, plan: "pro" } });
    expect(organizationAppEventFor("org_1", { kind: "update", snapshot: noChange, expectedVersion: 2_000 }, previous, origin, now)).toBeNull();

    const changes: Record<(typeof announcedOrganizationFields)[number], Partial<OrganizationSnapshot>> = {
      name: { name: "Acme Inc" },
      slug: { slug: null },
      imageUrl: { imageUrl: "https://img.example/acme.png" },
      publicMetadata: { publicMetadata: { plan: "team", seats: 5 } },
      membersCount: { membersCount: 4 },
    };
    for (const [field, change] of Object.entries(changes)) {
      const snapshot = organization({ ...change, clerkUpdatedAt: new Date(3_000) });
      const event = checked(organizationAppEventFor("org_1", { kind: "update", snapshot, expectedVersion: 2_000 }, previous, origin, now));
      expect(event).toMatchObject({ id: "app/organization.updated:org_1:3000", name: "app/organization.updated", data: { changedFields: [field] } });
    }
    const everything = organization({ ...Object.assign({}, ...Object.values(changes)), clerkUpdatedAt: new Date(3_000) });
    expect(organizationAppEventFor("org_1", { kind: "update", snapshot: everything, expectedVersion: 2_000 }, previous)?.data.changedFields).toEqual([...announcedOrganizationFields]);
  });

  it("a tombstone of a known organization is `deleted`; one for an organization never seen announces nothing", () => {
    expect(checked(organizationAppEventFor("org_1", { kind: "tombstone", deletedAt: new Date(5_000) }, organization(), origin, now))).toEqual({
      id: "app/organization.deleted:org_1",
      name: "app/organization.deleted",
      data: { v: 1, organizationId: "org_1", source: "webhook", sourceEventId: "msg_1", occurredAt: now.toISOString() },
    });
    expect(organizationAppEventFor("org_1", { kind: "insert-tombstone", deletedAt: new Date(5_000) }, null, origin, now)).toBeNull();
  });

  it("the id depends on the change only, never on the delivery", () => {
    const write = { kind: "update" as const, snapshot: organization({ name: "Other", clerkUpdatedAt: new Date(3_000) }), expectedVersion: 2_000 };
    const first = organizationAppEventFor("org_1", write, organization(), { source: "webhook", sourceEventId: "msg_a" }, new Date(1));
    const again = organizationAppEventFor("org_1", write, organization(), { source: "reconcile", sourceEventId: "run_b" }, new Date(2));
    expect(again?.id).toBe(first?.id);
  });
});

const live = (overrides: Partial<MembershipEventState> = {}): MembershipEventState => ({
  membershipId: "orgmem_1",
  removed: false,
  role: "org:member",
  permissions: ["org:a", "org:b"],
  publicMetadata: { team: "blue" },
  clerkUpdatedAt: new Date(2_000),
  ...overrides,
});
const removed = (overrides: Partial<MembershipEventState> = {}) => live({ removed: true, ...overrides });
const transition = (previous: MembershipEventState | null, next: MembershipEventState, reason?: "removed" | "organization-deleted" | "user-deleted") =>
  checked(membershipAppEventFor({ organizationId: "org_1", userId: "user_1", previous, next, reason }, origin, now));

describe("membership app events", () => {
  it("every transition of a (organization, user) pair: what it announces", () => {
    const visibleChange = { role: "org:admin", clerkUpdatedAt: new Date(3_000) };
    const table: [string, MembershipEventState | null, MembershipEventState, string | null][] = [
      ["nothing → member", null, live(), "app/membership.created:org_1:user_1:orgmem_1"],
      ["nothing → removed", null, removed(), null],
      ["member → member, nothing visible changed", live(), live({ clerkUpdatedAt: new Date(3_000) }), null],
      ["member → member, role changed", live(), live(visibleChange), "app/membership.updated:org_1:user_1:orgmem_1:3000"],
      ["member → member under a new Clerk membership, nothing visible changed", live(), live({ membershipId: "orgmem_2", clerkUpdatedAt: new Date(4_000) }), null],
      ["member → member under a new Clerk membership, role changed", live(), live({ ...visibleChange, membershipId: "orgmem_2" }), "app/membership.updated:org_1:user_1:orgmem_2:3000"],
      ["member → removed", live(), removed({ clerkUpdatedAt: new Date(3_000) }), "app/membership.deleted:org_1:user_1:orgmem_1"],
      ["member → removed under a later Clerk membership", live(), removed({ membershipId: "orgmem_2" }), "app/membership.deleted:org_1:user_1:orgmem_1"],
      ["removed → member again (re-added)", removed(), live({ membershipId: "orgmem_2" }), "app/membership.created:org_1:user_1:orgmem_2"],
      ["removed → removed", removed(), removed({ membershipId: "orgmem_2" }), null],
    ];
    for (const [name, previous, next, id] of table) expect(transition(previous, next)?.id ?? null, name).toBe(id);
  });

  it("`created` and `updated` carry the membership as consumers see it; `updated` names exactly the fields that changed", () => {
    expect(transition(null, live())).toEqual({
      id: "app/membership.created:org_1:user_1:orgmem_1",
      name: "app/membership.created",
      data: {
        v: 1,
        organizationId: "org_1",
        userId: "user_1",
        source: "webhook",
        sourceEventId: "msg_1",
        occurredAt: now.toISOString(),
        membership: { role: "org:member", permissions: ["org:a", "org:b"], publicMetadata: { team: "blue" }, clerkUpdatedAt: new Date(2_000).toISOString() },
      },
    });
    const changes: Record<(typeof announcedMembershipFields)[number], Partial<MembershipEventState>> = {
      role: { role: "org:admin" },
      permissions: { permissions: ["org:a"] },
      publicMetadata: { publicMetadata: { team: "red" } },
    };
    for (const [field, change] of Object.entries(changes)) {
      expect(transition(live(), live({ ...change, clerkUpdatedAt: new Date(3_000) }))?.data.changedFields).toEqual([field]);
    }
    const everything = live({ ...Object.assign({}, ...Object.values(changes)), clerkUpdatedAt: new Date(3_000) });
    expect(transition(live(), everything)?.data.changedFields).toEqual([...announcedMembershipFields]);
  });

  it("permissions are a set and metadata a JSON object: another order is no change", () => {
    expect(transition(live(), live({ permissions: ["org:b", "org:a"], publicMetadata: { team: "blue" }, clerkUpdatedAt: new Date(3_000) }))).toBeNull();
  });

  it("`deleted` says why the membership ended (Clerk removed it, or a deletion ended it)", () => {
    expect(transition(live(), removed())?.data).toEqual({
      v: 1,
      organizationId: "org_1",
      userId: "user_1",
      source: "webhook",
      sourceEventId: "msg_1",
      occurredAt: now.toISOString(),
      reason: "removed",
    });
    expect(transition(live(), removed(), "organization-deleted")?.data.reason).toBe("organization-deleted");
    expect(transition(live(), removed(), "user-deleted")?.data.reason).toBe("user-deleted");
  });

  it("the id depends on the change only, never on the delivery or the reason", () => {
    const first = membershipAppEventFor({ organizationId: "org_1", userId: "user_1", previous: live(), next: removed(), reason: "organization-deleted" }, origin, new Date(1));
    const again = membershipAppEventFor({ organizationId: "org_1", userId: "user_1", previous: live(), next: removed() }, { source: "reconcile", sourceEventId: "run_1" }, new Date(2));
    expect(again?.id).toBe(first?.id);
  });
});
