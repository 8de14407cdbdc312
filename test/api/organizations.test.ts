import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { meOrganizationsRoute } from "../../api/me/_organizations.js";
import { organizationRoute } from "../../api/organizations/[id].js";
import { organizationMembersRoute } from "../../api/organizations/[id]/members.js";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../../lib/clerk/organization-payload.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { requireOrgRole, requirePermission } from "../../lib/http/organization-guards.js";
import { json, type Route } from "../../lib/http/route.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../lib/sync/to-organization-snapshot.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../support/clerk-organization-fixtures.js";
import type { TokenOptions } from "../support/clerk-tokens.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);

/** An app route guarded by the helpers, as an app built on this project would write one. */
const manageRoute: Route = {
  name: "manage",
  access: "user",
  methods: {
    GET: async (ctx) => json(200, { role: (await requireOrgRole(ctx, "org_acme", ["org:admin"])).membership.role }),
    POST: async (ctx) => json(200, { ok: Boolean(await requirePermission(ctx, "org_acme", "org:sys_memberships:manage")) }),
  },
};

type Fetch = Awaited<ReturnType<typeof api.serve>>;
let org: Fetch;
let members: Fetch;
let mine: Fetch;
let manage: Fetch;
beforeAll(async () => {
  [org, members, mine, manage] = await Promise.all([api.serve(organizationRoute), api.serve(organizationMembersRoute), api.serve(meOrganizationsRoute), api.serve(manageRoute)]);
});

const core = () => api.state.services;
const user = (id: string) => core().store.apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1, firstName: id }))) });
const organization = (id: string) => core().organizationStore.apply({ kind: "upsert", organizationId: id, snapshot: toOrganizationSnapshot(clerkOrganizationSchema.parse(clerkOrganization({ id, updatedAt: 1, name: `Name of ${id}` }))) });
const member = (kind: "upsert" | "delete", options: Parameters<typeof clerkMembership>[0]) =>
  core().membershipStore.apply({ kind, snapshot: toMembershipSnapshot(clerkMembershipSchema.parse(clerkMembership(options))), at: new Date() });
const token = (userId: string, organization?: TokenOptions["organization"], issuedAt?: number) => api.state.tokens.sign({ userId, organization, issuedAt });
const nowMs = () => Date.now();

beforeEach(async () => {
  await Promise.all(["user_alice", "user_bob", "user_eve"].map(user));
  await organization("org_acme");
  await member("upsert", { id: "orgmem_alice", organizationId: "org_acme", userId: "user_alice", updatedAt: 1_000, role: "org:admin", permissions: ["org:sys_memberships:manage"] });
  await member("upsert", { id: "orgmem_bob", organizationId: "org_acme", userId: "user_bob", updatedAt: 1_000, role: "org:member" });
});

describe("organizations, for their members only", () => {
  it("shows the organization and the caller's role to a member", async () => {
    const response = await org("/api/organizations/org_acme", { as: "user_bob" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: "org_acme", name: "Name of org_acme", role: "org:member" });
  });

  it("answers 404 to a non-member, exactly as for an organization that does not exist", async () => {
    const outsider = await org("/api/organizations/org_acme", { as: "user_eve" });
    const missing = await org("/api/organizations/org_nothing", { as: "user_eve" });
    expect([outsider.status, missing.status]).toEqual([404, 404]);
    expect(await outsider.json()).toEqual(await missing.json());
    expect((await members("/api/organizations/org_acme/members", { as: "user_eve" })).status).toBe(404);
  });

  it("lists members page by page, with names but no emails", async () => {
    const first = await members("/api/organizations/org_acme/members?limit=1", { as: "user_bob" });
    const page1 = (await first.json()) as { data: Record<string, unknown>[]; nextCursor: string };
    expect(page1.data).toEqual([{ userId: "user_alice", role: "org:admin", firstName: "user_alice", lastName: expect.anything(), username: null, imageUrl: expect.anything() }]);
    const second = (await (await members(`/api/organizations/org_acme/members?limit=1&cursor=${page1.nextCursor}`, { as: "user_bob" })).json()) as { data: { userId: string }[]; nextCursor: string | null };
    expect(second.data.map((m) => m.userId)).toEqual(["user_bob"]);
    expect(second.nextCursor).toBeNull();
    expect(JSON.stringify(page1)).not.toContain("@");
  });

  it("lists the caller's organizations", async () => {
    await organization("org_beta");
    await member("upsert", { id: "orgmem_bob2", organizationId: "org_beta", userId: "user_bob", updatedAt: 1_000 });
    const body = (await (await mine("/api/me/organizations", { as: "user_bob" })).json()) as { data: { organization: { id: string }; role: string }[] };
    expect(body.data.map((entry) => entry.organization.id)).toEqual(["org_acme", "org_beta"]);
  });

  it("a removed member gets 404, even with a session token that still names the organization", async () => {
    await member("delete", { id: "orgmem_bob", organizationId: "org_acme", userId: "user_bob", updatedAt: 2_000 });
    const stale = await token("user_bob", { id: "org_acme", role: "member" }, -30);
    expect((await org("/api/organizations/org_acme", { token: stale })).status).toBe(404);
    const listed = (await (await mine("/api/me/organizations", { token: stale })).json()) as { data: unknown[] };
    expect(listed.data).toEqual([]);
  });

  it("members of a deleted organization get 404", async () => {
    await core().organizationStore.apply({ kind: "delete", organizationId: "org_acme", deletedAt: new Date() });
    expect((await org("/api/organizations/org_acme", { as: "user_alice" })).status).toBe(404);
  });
});

describe("requireOrgRole / requirePermission", () => {
  it("let an admin with the permission through", async () => {
    expect((await manage("/manage", { as: "user_alice" })).status).toBe(200);
    expect((await manage("/manage", { method: "POST", as: "user_alice" })).status).toBe(200);
  });

  it("refuse a member (403), and a non-member gets 404", async () => {
    expect((await manage("/manage", { as: "user_bob" })).status).toBe(403);
    expect((await manage("/manage", { method: "POST", as: "user_bob" })).status).toBe(403);
    expect((await manage("/manage", { as: "user_eve" })).status).toBe(404);
  });

  it("a demoted admin is refused even while their token still says admin (the stored state is newer)", async () => {
    const issued = await token("user_alice", { id: "org_acme", role: "admin", features: { sys_memberships: ["manage"] } }, -20);
    await member("upsert", { id: "orgmem_alice", organizationId: "org_acme", userId: "user_alice", updatedAt: nowMs(), role: "org:member", permissions: [] });
    expect((await manage("/manage", { token: issued })).status).toBe(403);
    expect((await manage("/manage", { method: "POST", token: issued })).status).toBe(403);
  });

  it("a token newer than the stored membership wins (the webhook of a promotion is late), and refreshes it", async () => {
    const promoted = await token("user_bob", { id: "org_acme", role: "admin", features: { sys_memberships: ["manage"] } });
    expect(await (await manage("/manage", { token: promoted })).json()).toEqual({ role: "org:admin" });
    expect(await core().memberships.findById("org_acme:user_bob").lean()).toMatchObject({ role: "org:admin", permissions: ["org:sys_memberships:manage"], membershipId: "orgmem_bob" });
  });
});

describe("just in time: the first request after joining, before the webhook", () => {
  it("creates the membership from the session token, and Clerk's event then replaces it", async () => {
    const joined = await token("user_eve", { id: "org_acme", role: "member" });
    const response = await org("/api/organizations/org_acme", { token: joined });
    expect(response.status).toBe(200);
    expect(await core().memberships.findById("org_acme:user_eve").lean()).toMatchObject({ role: "org:member", membershipId: "token:org_acme:user_eve", removedAt: null });
    await member("upsert", { id: "orgmem_eve", organizationId: "org_acme", userId: "user_eve", createdAt: 5, updatedAt: 1_000, role: "org:member" });
    expect(await core().memberships.findById("org_acme:user_eve").lean()).toMatchObject({ membershipId: "orgmem_eve" });
  });

  it("creates exactly one membership under 20 concurrent first requests", async () => {
    const joined = await token("user_eve", { id: "org_acme", role: "member" });
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await org("/api/organizations/org_acme", { token: joined })).status));
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(await core().memberships.countDocuments({ _id: "org_acme:user_eve" })).toBe(1);
  });

  it("a token naming another organization grants nothing here", async () => {
    const elsewhere = await token("user_eve", { id: "org_other", role: "admin" });
    expect((await org("/api/organizations/org_acme", { token: elsewhere })).status).toBe(404);
  });
});
