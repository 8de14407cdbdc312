import type { mongo } from "mongoose";
import { organizationMembersRoute } from "../../api/organizations/[id]/members.js";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../lib/clerk/organization-payload.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { parseConfig } from "../../lib/config.js";
import { closeMongoConnections } from "../../lib/db/connection.js";
import { createRequestGate } from "../../lib/http/request-gate.js";
import { serveRoute } from "../../lib/http/route.js";
import { createLogger } from "../../lib/logger.js";
import { membershipKey } from "../../lib/organizations/membership-key.js";
import { pageQuerySchema } from "../../lib/organizations/organization-views.js";
import { createServices } from "../../lib/services.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../lib/sync/to-organization-snapshot.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { clerkUser } from "../../test/support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../../test/support/clerk-organization-fixtures.js";
import { serveHandler } from "../../test/support/http.js";
import { createBenchClerk } from "../tokens.js";
import { log } from "./reconcile-harness.js";

/**
 * `GET /api/organizations/{id}/members` paged through, as a member's browser would: the real
 * route (api/organizations/[id]/members.ts) in the production pipeline (`serveRoute`: request
 * gate, Clerk's networkless token check on a session token signed with the bench key, rate
 * limiter, user resolver, `lastSeenAt`, the membership check), over HTTP on 127.0.0.1, with
 * the services `createServices` builds from a parsed config. Beside it, the floor: the same
 * two queries the route runs (the page of memberships, then those members' users by `_id`),
 * through the MongoDB driver alone on the same connection pool, in process.
 *
 * The organization has `members` members, all stored through the sync stores; every full pass
 * reads every member once, cursor after cursor, at the largest page the API allows. Passes
 * alternate (API, floor, API, ...) until each has `samples` page requests. Command monitoring on
 * the services' connection counts the database round trips of each page request.
 */
export interface MembersPageOptions {
  mongoUri: string;
  dbName: string;
  members: number;
  samples: number;
}

export interface MembersPageResult {
  pageSize: number;
  pagesPerPass: number;
  /** Per page request (ms), sorted. */
  api: number[];
  floor: number[];
  apiRoundTripsPerPage: number;
  floorRoundTripsPerPage: number;
}

/** The largest `limit` the route accepts, read from its own query schema. */
function largestPageSize(): number {
  const limit = pageQuerySchema.shape.limit;
  for (let size = 1_000; size > 1; size -= 1) if (limit.safeParse(size).success) return size;
  return 1;
}

function withCommandMonitoring(uri: string): string {
  const url = new URL(uri);
  url.searchParams.set("monitorCommands", "true");
  return url.toString();
}

export async function benchMembersPage(options: MembersPageOptions): Promise<MembersPageResult> {
  const clerk = await createBenchClerk();
  const config = parseConfig({
    PATH: process.env.PATH,
    MONGODB_URI: withCommandMonitoring(options.mongoUri),
    MONGODB_DB_NAME: options.dbName,
    ...clerk.env,
    // Nothing may call Clerk's Backend API here: every user is stored, and a miss must fail fast.
    CLERK_API_URL: "http://127.0.0.1:9",
    INNGEST_DEV: "1",
    LOG_LEVEL: "silent",
    RATE_LIMIT_PER_USER_PER_MINUTE: "100000",
    RATE_LIMIT_PER_IP_PER_MINUTE: "100000",
  });
  const logger = createLogger("silent");
  const gate = await createRequestGate(config, logger);
  const services = await createServices(config, logger);
  let commands = 0;
  const names = new Map<string, number>();
  services.connection.getClient().on("commandStarted", (event: mongo.CommandStartedEvent) => {
    commands += 1;
    names.set(event.commandName, (names.get(event.commandName) ?? 0) + 1);
  });
  const server = await serveHandler(serveRoute(organizationMembersRoute, { gate: async () => gate, services: async () => services }));
  try {
    await services.connection.dropDatabase();
    for (const model of [services.users, services.memberships, services.organizations]) await model.createIndexes();
    const organizationId = "org_members_page";
    const userIds = Array.from({ length: options.members }, (_, index) => `user_mp${String(index).padStart(6, "0")}`);
    const at = Date.UTC(2026, 0, 1);
    log(`members page: storing an organization with ${options.members} members through the sync stores`);
    await services.organizationStore.apply({
      kind: "upsert",
      organizationId,
      snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id: organizationId, createdAt: at, updatedAt: at, name: "Members page" }))),
    });
    for (let index = 0; index < userIds.length; index += 100) {
      const batch = userIds.slice(index, index + 100);
      await services.store.applyEvents(
        batch.map((id, offset) => ({ kind: "upsert" as const, userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, createdAt: at, updatedAt: at, username: `mp${index + offset}` }))) })),
      );
    }
    const addMember = (userId: string, index: number) =>
      services.membershipStore.apply({
        kind: "upsert",
        snapshot: toMembershipSnapshot(
          clerkMembershipSchema.parse(clerkMembership({ id: `orgmem_mp_${index}`, organizationId, userId, createdAt: at + index, updatedAt: at + index, role: index === 0 ? "org:admin" : "org:member" })),
        ),
        at: new Date(),
      });
    for (let index = 0; index < userIds.length; index += 8) await Promise.all(userIds.slice(index, index + 8).map((userId, offset) => addMember(userId, index + offset)));

    const caller = userIds[0] as string;
    const token = (await clerk.sign([caller], 3_600)).get(caller) as string;
    const pageSize = largestPageSize();
    const headers = { authorization: `Bearer ${token}`, "x-real-ip": "10.0.0.1" };
    const expected = [...userIds].sort();

    /** One pass through the API: every page, each timed. */
    async function apiPass(latencies: number[]): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `limit=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const started = performance.now();
        const response = await fetch(`${server.url}/api/organizations/${organizationId}/members?${query}`, { headers });
        const body = (await response.json()) as { data: { userId: string }[]; nextCursor: string | null };
        latencies.push(performance.now() - started);
        if (response.status !== 200) throw new Error(`members page answered ${response.status}: ${JSON.stringify(body)}`);
        seen.push(...body.data.map((member) => member.userId));
        cursor = body.nextCursor;
      } while (cursor);
      return seen;
    }

    const db = services.connection.getClient().db(services.connection.name);
    type StoredMember = { _id: string; userId: string; organizationId: string };
    const membershipsCollection = db.collection<StoredMember>("memberships");
    const usersCollection = db.collection<{ _id: string }>("users");
    /** One pass with the driver alone: the route's two queries per page, nothing else. */
    async function floorPass(latencies: number[]): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const started = performance.now();
        const filter: Record<string, unknown> = { organizationId, removedAt: null, ...(cursor && { _id: { $gt: membershipKey(organizationId, cursor) } }) };
        const found: StoredMember[] = await membershipsCollection.find(filter).sort({ _id: 1 }).limit(pageSize + 1).toArray();
        const page = found.slice(0, pageSize);
        const people = await usersCollection.find({ _id: { $in: page.map((membership) => membership.userId) } }, { projection: { firstName: 1, lastName: 1, username: 1, imageUrl: 1 } }).toArray();
        const byId = new Map(people.map((person) => [person._id, person]));
        const data = page.map((membership) => ({ userId: membership.userId, user: byId.get(membership.userId) }));
        latencies.push(performance.now() - started);
        seen.push(...data.map((member) => member.userId));
        cursor = found.length > pageSize ? (page.at(-1)?.userId ?? null) : null;
      } while (cursor);
      return seen;
    }

    const check = (label: string, seen: string[]) => {
      if (seen.length !== expected.length || seen.some((id, index) => id !== expected[index])) {
        throw new Error(`${label}: a pass listed ${seen.length} members, expected the ${expected.length} in user id order`);
      }
    };
    // Warm-up: the caller's first request also writes `lastSeenAt`, not the steady state measured.
    check("api", await apiPass([]));
    check("floor", await floorPass([]));

    const pagesPerPass = Math.ceil(options.members / pageSize);
    const api: number[] = [];
    const floor: number[] = [];
    let apiCommands = 0;
    let floorCommands = 0;
    while (api.length < options.samples || floor.length < options.samples) {
      let before = commands;
      names.clear();
      check("api", await apiPass(api));
      apiCommands += commands - before;
      const apiNames = JSON.stringify(Object.fromEntries(names));
      before = commands;
      names.clear();
      check("floor", await floorPass(floor));
      floorCommands += commands - before;
      if (api.length === pagesPerPass) log(`members page: commands of one pass, API ${apiNames}, floor ${JSON.stringify(Object.fromEntries(names))}`);
    }
    return {
      pageSize,
      pagesPerPass,
      api: api.sort((a, b) => a - b),
      floor: floor.sort((a, b) => a - b),
      apiRoundTripsPerPage: apiCommands / api.length,
      floorRoundTripsPerPage: floorCommands / floor.length,
    };
  } finally {
    await server.close();
    await gate.close();
    await services.connection.dropDatabase().catch((error: unknown) => log(`could not drop ${options.dbName}: ${String(error)}`));
    await closeMongoConnections();
  }
}
