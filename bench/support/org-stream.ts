import type { OrganizationJSON, OrganizationMembershipJSON, UserJSON } from "@clerk/backend";
import { membershipKey } from "../../lib/organizations/membership-key.js";
import type { MembershipModel } from "../../lib/organizations/membership-model.js";
import type { OrganizationModel } from "../../lib/organizations/organization-model.js";
import type { UserModel } from "../../lib/users/user-model.js";
import { clerkUser } from "../../test/support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../../test/support/clerk-organization-fixtures.js";
import type { seededRandom } from "../../test/support/random.js";

/**
 * The mixed Clerk stream of bench/organizations.ts, and the truth it leads to.
 *
 * Users (`user.created`, then 1-2 `user.updated`), organizations (`organization.created`,
 * 0-2 `organization.updated`, one in ten `organization.deleted`) and memberships
 * (`organizationMembership.created`, 0-2 `.updated` that flip the role; a quarter removed by
 * `.deleted`, most of those re-added under a new membership id, a later `created_at`).
 * Clerk sends no membership deletion for the members of a deleted organization: the
 * organization's deletion alone must end them. Each event carries Clerk's data, the Svix id
 * as its Inngest `id` (a redelivery keeps it) and the envelope timestamp as `ts`.
 */

export type ClerkEventName =
  | "clerk/user.created"
  | "clerk/user.updated"
  | "clerk/organization.created"
  | "clerk/organization.updated"
  | "clerk/organization.deleted"
  | "clerk/organizationMembership.created"
  | "clerk/organizationMembership.updated"
  | "clerk/organizationMembership.deleted";

export interface StreamEvent {
  name: ClerkEventName;
  data: UserJSON | OrganizationJSON | OrganizationMembershipJSON | { object: "organization"; id: string; deleted: true };
  id: string;
  ts: number;
  /** The entity it changes (user id, `org:<id>`, `membership:<org>:<user>`): Inngest's per-entity key. */
  key: string;
  /** Came by Clerk's direct "Connect to Inngest" path: no Svix id, no envelope timestamp. */
  direct?: boolean;
}

export type EntityKind = "user" | "organization" | "membership";
export const entityOf = (event: Pick<StreamEvent, "name">): EntityKind =>
  event.name.startsWith("clerk/user.") ? "user" : event.name.startsWith("clerk/organizationMembership.") ? "membership" : "organization";

/** Where every entity ends in Clerk. */
export interface Truth {
  users: Map<string, { firstName: string; updatedAt: number; json: UserJSON }>;
  organizations: Map<string, { deleted: boolean; name: string; updatedAt: number; json: OrganizationJSON }>;
  /** By `organizationId:userId`. */
  memberships: Map<string, MembershipTruth>;
}

export interface MembershipTruth {
  organizationId: string;
  userId: string;
  /** `null` when the pair is not a member at the end. */
  live: { membershipId: string; role: string; updatedAt: number; json: OrganizationMembershipJSON } | null;
}

type Random = ReturnType<typeof seededRandom>;

/** `total` events (about a tenth of them redeliveries of others), shuffled, and the truth. */
export function generateStream(total: number, random: Random, options: { duplicateShare: number }): { events: StreamEvent[]; truth: Truth; distinct: number } {
  const duplicates = Math.round(total * options.duplicateShare);
  const distinctTarget = Math.max(3, total - duplicates);
  const events: StreamEvent[] = [];
  const truth: Truth = { users: new Map(), organizations: new Map(), memberships: new Map() };
  const start = Date.UTC(2026, 0, 1);
  const push = (event: Omit<StreamEvent, "id">) => events.push({ ...event, id: `msg_org_bench_${events.length}` });

  // About a quarter of the events for users, a tenth for organizations, the rest for memberships.
  const userCount = Math.max(1, Math.round((distinctTarget * 0.25) / 2.5));
  const organizationCount = Math.max(1, Math.round((distinctTarget * 0.1) / 2.1));
  const users: string[] = [];
  for (let index = 0; index < userCount; index += 1) {
    const id = `user_ob${String(index).padStart(7, "0")}`;
    users.push(id);
    const createdAt = start + index * 1_000;
    const versions = 2 + random.int(2);
    for (let version = 0; version < versions; version += 1) {
      const updatedAt = createdAt + version * 60_000;
      const firstName = `Version${version}`;
      const json = clerkUser({ id, createdAt, updatedAt, firstName, username: `ob${index}` });
      push({ name: version === 0 ? "clerk/user.created" : "clerk/user.updated", data: json, ts: updatedAt, key: id });
      truth.users.set(id, { firstName, updatedAt, json });
    }
  }

  const organizations: string[] = [];
  // Deleted organizations go last, after all their members' events (Clerk has none after it).
  const deletions: { id: string; at: number }[] = [];
  for (let index = 0; index < organizationCount; index += 1) {
    const id = `org_ob${String(index).padStart(6, "0")}`;
    organizations.push(id);
    const createdAt = start + index * 1_000;
    let updatedAt = createdAt;
    let name = `Org ${index}`;
    let json = clerkOrganization({ id, createdAt, updatedAt, name });
    push({ name: "clerk/organization.created", data: json, ts: updatedAt, key: `org:${id}` });
    for (let update = 0; update < random.int(3); update += 1) {
      updatedAt += 1 + random.int(3_600_000);
      name = `Org ${index} v${update + 1}`;
      json = clerkOrganization({ id, createdAt, updatedAt, name });
      push({ name: "clerk/organization.updated", data: json, ts: updatedAt, key: `org:${id}` });
    }
    const deleted = random.chance(0.1);
    if (deleted) deletions.push({ id, at: start + 30 * 86_400_000 + index });
    truth.organizations.set(id, { deleted, name, updatedAt, json });
  }

  // Memberships until the stream holds its distinct events (deletions of organizations included).
  const budget = distinctTarget - deletions.length;
  for (let attempts = 0; events.length < budget && attempts < budget * 10; attempts += 1) {
    const organizationId = organizations[random.int(organizations.length)] as string;
    const userId = users[random.int(users.length)] as string;
    const pair = membershipKey(organizationId, userId);
    if (truth.memberships.has(pair)) continue;
    const key = `membership:${pair}`;
    let time = start + 86_400_000 + random.int(20 * 86_400_000);
    let live: MembershipTruth["live"] = null;
    const generations = 1 + (random.chance(0.2) ? 1 : 0);
    for (let generation = 0; generation < generations && events.length < budget; generation += 1) {
      const membershipId = `orgmem_ob_${pair.replace(":", "_")}_${generation}`;
      const createdAt = time;
      let role = "org:member";
      let json = clerkMembership({ id: membershipId, organizationId, userId, createdAt, updatedAt: time, role });
      push({ name: "clerk/organizationMembership.created", data: json, ts: time, key });
      for (let change = 0; change < random.int(3) && events.length < budget; change += 1) {
        time += 1 + random.int(3_600_000);
        role = role === "org:member" ? "org:admin" : "org:member";
        json = clerkMembership({ id: membershipId, organizationId, userId, createdAt, updatedAt: time, role });
        push({ name: "clerk/organizationMembership.updated", data: json, ts: time, key });
      }
      live = { membershipId, role, updatedAt: time, json };
      // Removed: before a re-add always, else one time in ten.
      if (generation < generations - 1 || random.chance(0.1)) {
        time += 1 + random.int(3_600_000);
        push({ name: "clerk/organizationMembership.deleted", data: clerkMembership({ id: membershipId, organizationId, userId, createdAt, updatedAt: time, role }), ts: time, key });
        live = null;
      }
      time += 1 + random.int(3_600_000);
    }
    truth.memberships.set(pair, { organizationId, userId, live });
  }
  for (const { id, at } of deletions) push({ name: "clerk/organization.deleted", data: { object: "organization", id, deleted: true }, ts: at, key: `org:${id}` });
  for (const membership of truth.memberships.values()) {
    if (truth.organizations.get(membership.organizationId)?.deleted) membership.live = null;
  }

  const distinct = events.length;
  for (const index of random.sample(distinct, Math.min(distinct, total - distinct))) events.push(events[index] as StreamEvent);
  return { events: random.shuffle(events), truth, distinct };
}

/**
 * Loses `lostShare` of the deliveries for good (every Svix retry failed), at random, and sends
 * `directShare` of the others by Clerk's direct path (no `id`, no `ts`).
 */
export function faultyDeliveries(events: readonly StreamEvent[], random: Random, options: { lostShare: number; directShare: number }): StreamEvent[] {
  return events.flatMap((event) => (random.chance(options.lostShare) ? [] : [random.chance(options.directShare) ? { ...event, direct: true } : event]));
}

export interface Divergences {
  users: number;
  organizations: number;
  memberships: number;
  total: number;
  /** A few of them, for the log. */
  examples: string[];
}

/**
 * What the database holds against Clerk's end state: a user missing or not at its newest
 * version; an organization not deleted when Clerk deleted it, deleted when Clerk has it, or
 * live at another version; a pair that is a member here and not in Clerk (or the reverse), or
 * a member with another membership id, role or version. A stored membership is live when it
 * exists without `removedAt` (the naive handler deletes instead), and live memberships of
 * pairs Clerk never had count too.
 */
export async function countDivergences(models: { users: UserModel; organizations: OrganizationModel; memberships: MembershipModel }, truth: Truth): Promise<Divergences> {
  const examples: string[] = [];
  const note = (text: string) => void (examples.length < 5 && examples.push(text));
  let users = 0;
  const storedUsers = new Map((await models.users.find({}, { firstName: 1, clerkUpdatedAt: 1, deletedAt: 1 }).lean()).map((doc) => [doc._id, doc]));
  for (const [id, expected] of truth.users) {
    const doc = storedUsers.get(id);
    if (!doc || doc.deletedAt || doc.firstName !== expected.firstName || doc.clerkUpdatedAt?.getTime() !== expected.updatedAt) {
      users += 1;
      note(`user ${id}: ${doc ? `${doc.firstName} @${doc.clerkUpdatedAt?.getTime()}${doc.deletedAt ? " deleted" : ""}` : "missing"}, Clerk ${expected.firstName} @${expected.updatedAt}`);
    }
  }

  let organizations = 0;
  const storedOrganizations = new Map((await models.organizations.find({}, { name: 1, clerkUpdatedAt: 1, deletedAt: 1 }).lean()).map((doc) => [doc._id, doc]));
  for (const [id, expected] of truth.organizations) {
    const doc = storedOrganizations.get(id);
    const deletedHere = !doc || Boolean(doc.deletedAt);
    const wrong = expected.deleted ? !deletedHere : deletedHere || doc?.name !== expected.name || doc?.clerkUpdatedAt?.getTime() !== expected.updatedAt;
    if (wrong) {
      organizations += 1;
      note(`organization ${id}: ${doc ? `${doc.name} @${doc.clerkUpdatedAt?.getTime()}${doc.deletedAt ? " deleted" : ""}` : "missing"}, Clerk ${expected.deleted ? "deleted" : `${expected.name} @${expected.updatedAt}`}`);
    }
  }

  let memberships = 0;
  const storedMemberships = await models.memberships.find({}, { membershipId: 1, role: 1, clerkUpdatedAt: 1, removedAt: 1 }).lean();
  const liveHere = new Map(storedMemberships.filter((doc) => !doc.removedAt).map((doc) => [doc._id, doc]));
  for (const [pair, expected] of truth.memberships) {
    const doc = liveHere.get(pair);
    liveHere.delete(pair);
    const live = expected.live;
    const wrong = live === null ? doc !== undefined : !doc || doc.membershipId !== live.membershipId || doc.role !== live.role || doc.clerkUpdatedAt.getTime() !== live.updatedAt;
    if (wrong) {
      memberships += 1;
      note(`membership ${pair}: ${doc ? `${doc.membershipId} ${doc.role} @${doc.clerkUpdatedAt.getTime()}` : "not a member"}, Clerk ${live ? `${live.membershipId} ${live.role} @${live.updatedAt}` : "not a member"}`);
    }
  }
  for (const pair of liveHere.keys()) {
    memberships += 1;
    note(`membership ${pair}: a member here, never in Clerk`);
  }
  return { users, organizations, memberships, total: users + organizations + memberships, examples };
}
