import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/logger.js";
import { createSyncCore, type SyncCore } from "../../../lib/sync-core.js";
import type { AppEvent } from "../../../lib/sync/types.js";
import { clerkUser, clerkUserDeleted } from "../../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../../support/clerk-organization-fixtures.js";
import { testSecretKey } from "../../support/clerk-tokens.js";
import { syncFunctionEngines } from "../../support/inngest.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
let core: SyncCore;
/** What the outbox handed to Inngest, call by call; `failNext` makes the next send fail (Inngest unavailable). */
let sends: AppEvent[][] = [];
let failNext = false;
beforeAll(async () => {
  core = await createSyncCore(
    { mongo: db.config, clerk: { apiUrl: "http://127.0.0.1:9", secretKey: testSecretKey }, reconcile: { maxClerkRequestsPer10Seconds: 50 } },
    {
      logger: createLogger("silent"),
      sendEvents: async (events) => {
        if (failNext) {
          failNext = false;
          throw new Error("Inngest unavailable");
        }
        sends.push(events);
      },
    },
  );
});
beforeEach(() => {
  sends = [];
  failNext = false;
});

const { engineById, engineFor } = syncFunctionEngines(
  async () => core.store,
  async () => core,
  { outbox: async () => core.outbox, audit: async () => core.audit },
);
const sentIds = () => sends.flat().map((event) => event.id);
const organizationEvent = (name: "created" | "updated" | "deleted", id: string, svixId: string, options: { updatedAt?: number; name?: string } = {}) => ({
  name: `clerk/organization.${name}`,
  id: svixId,
  ts: 9_000,
  data: (name === "deleted" ? { object: "organization", id, deleted: true } : clerkOrganization({ id, updatedAt: options.updatedAt ?? 1, name: options.name })) as never,
});
const membershipEvent = (name: "created" | "updated" | "deleted", svixId: string, options: Parameters<typeof clerkMembership>[0]) => ({
  name: `clerk/organizationMembership.${name}`,
  id: svixId,
  data: clerkMembership(options) as never,
});
const runOrganization = (event: ReturnType<typeof organizationEvent>) => engineById("sync-clerk-organization").execute({ events: [event] });
const runMembership = (event: ReturnType<typeof membershipEvent>) => engineById("sync-clerk-membership").execute({ events: [event] });
const createUser = (id: string) => engineFor("clerk/user.created").execute({ events: [{ name: "clerk/user.created", id: `msg_${id}`, data: clerkUser({ id, updatedAt: 1 }) as never }] });

describe("organization and membership app events from the sync functions (@inngest/test)", () => {
  it("each change is published once, in a step of its own after the write; redeliveries publish nothing", async () => {
    const created = organizationEvent("created", "org_1", "msg_o1");
    const { error, ctx } = await runOrganization(created);
    expect(error).toBeUndefined();
    expect(ctx.step.run).toHaveBeenNthCalledWith(1, "apply-to-mongodb", expect.any(Function));
    expect(ctx.step.run).toHaveBeenNthCalledWith(2, "publish-app-events", expect.any(Function));
    await runOrganization({ ...created, id: "msg_o1_redelivered" });
    await runOrganization(organizationEvent("updated", "org_1", "msg_o2", { updatedAt: 2, name: "Renamed" }));

    await createUser("user_1");
    const joined = membershipEvent("created", "msg_m1", { id: "orgmem_1", organizationId: "org_1", userId: "user_1", updatedAt: 10 });
    expect((await runMembership(joined)).result).toEqual({ kind: "created" });
    expect((await runMembership(joined)).result).toEqual({ kind: "skipped", reason: "duplicate" });
    await runMembership(membershipEvent("updated", "msg_m2", { id: "orgmem_1", organizationId: "org_1", userId: "user_1", updatedAt: 11, role: "org:admin" }));

    expect(sentIds()).toEqual([
      "app/organization.created:org_1",
      "app/organization.updated:org_1:2",
      "app/user.created:user_1",
      "app/membership.created:org_1:user_1:orgmem_1",
      "app/membership.updated:org_1:user_1:orgmem_1:11",
    ]);
    const [membershipCreated] = sends.flat().filter((event) => event.name === "app/membership.created");
    expect(membershipCreated?.data).toMatchObject({ organizationId: "org_1", userId: "user_1", source: "webhook", sourceEventId: "msg_m1", membership: { role: "org:member" } });
  });

  it("an organization's deletion announces itself and every membership it ended, in its own run", async () => {
    await runOrganization(organizationEvent("created", "org_2", "msg_o3"));
    for (const userId of ["user_a", "user_b"]) {
      await createUser(userId);
      await runMembership(membershipEvent("created", `msg_${userId}`, { id: `orgmem_${userId}`, organizationId: "org_2", userId, updatedAt: 10 }));
    }
    sends = [];
    const deleted = organizationEvent("deleted", "org_2", "msg_o4");
    expect((await runOrganization(deleted)).result).toEqual({ kind: "deleted" });
    expect(sentIds().sort()).toEqual(["app/membership.deleted:org_2:user_a:orgmem_user_a", "app/membership.deleted:org_2:user_b:orgmem_user_b", "app/organization.deleted:org_2"]);
    expect(sends.flat().filter((event) => event.name === "app/membership.deleted").map((event) => event.data.reason)).toEqual(["organization-deleted", "organization-deleted"]);
    // Redelivered: a duplicate, whose cascade ends nothing more and announces nothing more.
    await runOrganization({ ...deleted, id: "msg_o4_again" });
    expect(sentIds()).toHaveLength(3);
  });

  it("a publication that fails is retried by Inngest with the same ids, and nothing is lost", async () => {
    await runOrganization(organizationEvent("created", "org_3", "msg_o5"));
    await createUser("user_r");
    sends = [];
    const joined = membershipEvent("created", "msg_m5", { id: "orgmem_r", organizationId: "org_3", userId: "user_r", updatedAt: 10 });
    failNext = true;
    const first = await runMembership(joined);
    expect(first.error).toMatchObject({ message: "Inngest unavailable" });
    // The retry: the write is now a duplicate, the event still waits in the membership's outbox.
    const retry = await runMembership(joined);
    expect(retry.error).toBeUndefined();
    expect(sentIds()).toEqual(["app/membership.created:org_3:user_r:orgmem_r"]);
  });

  it("the memberships a user's deletion ends are announced by the deletion's run, and the sweep finds nothing left", async () => {
    await runOrganization(organizationEvent("created", "org_4", "msg_o6"));
    await createUser("user_d");
    await runMembership(membershipEvent("created", "msg_m6", { id: "orgmem_d", organizationId: "org_4", userId: "user_d", updatedAt: 10 }));
    sends = [];
    await engineFor("clerk/user.deleted").execute({ events: [{ name: "clerk/user.deleted", id: "msg_ud", data: clerkUserDeleted("user_d") }] });
    expect(sends.flat().map((event) => [event.id, event.data.reason])).toEqual([
      ["app/user.deleted:user_d", undefined],
      ["app/membership.deleted:org_4:user_d:orgmem_d", "user-deleted"],
    ]);
    expect((await engineById("publish-pending-app-events").execute({ events: [{ name: "inngest/scheduled.timer", data: {} }] })).result).toEqual({ published: 0 });
  });
});
