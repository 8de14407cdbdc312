import { InngestTestEngine } from "@inngest/test";
import { NonRetriableError } from "inngest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInngestClient, type InngestClient } from "../../../inngest/client.js";
import { createPurgeSessionActivity } from "../../../inngest/functions/purge-session-activity.js";
import { createRecordSessionFunctions, perSessionUserConcurrency, toSession } from "../../../inngest/functions/record-session.js";
import { activityModelFor } from "../../../lib/activity/activity-model.js";
import { createActivityStore } from "../../../lib/activity/activity-store.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { createLogger } from "../../../lib/logger.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { startInngestEventApi } from "../../support/inngest-event-api.js";
import { useTestDatabase } from "../../support/mongo.js";
import { seededRandom } from "../../support/random.js";

const db = useTestDatabase();
const deps = { activity: async () => createActivityStore(db.connection()) };
const retentionMs = 90 * 86_400_000;

/** Inngest's Event API stood in on 127.0.0.1: step.sendEvent really sends, through the SDK. */
let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
let inngest: InngestClient;
let functions: ReturnType<typeof createFunctions>;
let purge: ReturnType<typeof createPurgeSessionActivity>;

/** The four functions by the event each is meant for (the registration test checks each one's trigger). */
function createFunctions(client: InngestClient, functionDeps: typeof deps) {
  const [created, ended, removed, revoked] = createRecordSessionFunctions(client, functionDeps);
  if (!created || !ended || !removed || !revoked) throw new Error("expected four session functions");
  return { "clerk/session.created": created, "clerk/session.ended": ended, "clerk/session.removed": removed, "clerk/session.revoked": revoked };
}

beforeAll(async () => {
  eventApi = await startInngestEventApi();
  inngest = createInngestClient(
    {
      appId: "clerk-mongo-sync-test",
      eventKey: "test-event-key",
      signingKey: "signkey-test-0123456789abcdef",
      signingKeyFallback: undefined,
      isDev: false,
      baseUrl: eventApi.baseUrl,
      sendTimeoutMs: 1_000,
      apiSendTimeoutMs: 400,
    },
    createLogger("silent"),
  );
  functions = createFunctions(inngest, deps);
  purge = createPurgeSessionActivity(inngest, { ...deps, activitySchedule: { purgeCron: "15 4 * * *", retentionMs } });
});
afterAll(() => eventApi.close());
beforeEach(() => {
  eventApi.received.length = 0;
});

type SessionEventName = keyof ReturnType<typeof createFunctions>;

/** Clerk's session webhook data, plus the `http_request` our endpoint adds from the envelope. */
function clerkSession(options: { id: string; userId?: string; createdAt: number; updatedAt?: number; lastActiveAt?: number | null; status?: string }) {
  return {
    object: "session",
    id: options.id,
    client_id: "client_1",
    user_id: options.userId ?? "user_1",
    status: options.status ?? "active",
    last_active_organization_id: null,
    actor: null,
    created_at: options.createdAt,
    updated_at: options.updatedAt ?? options.createdAt,
    ...(options.lastActiveAt !== null && { last_active_at: options.lastActiveAt ?? options.updatedAt ?? options.createdAt }),
    expire_at: options.createdAt + 7 * 86_400_000,
    abandon_at: options.createdAt + 30 * 86_400_000,
    http_request: { client_ip: "203.0.113.7", user_agent: "Mozilla/5.0 (test)" },
  };
}

/** A fresh engine per run: an engine caches step results across its executions. */
const run = (name: SessionEventName, data: Record<string, unknown>, extra: { id?: string } = {}) =>
  new InngestTestEngine({ function: functions[name] }).execute({ events: [{ name, data, ...extra }] });

async function storedUser(id: string) {
  await createUserStore(db.users()).apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1 }))) });
}
const activity = () => activityModelFor(db.connection());
const userTimes = async (id: string) => {
  const user = await db.users().findById(id).lean();
  return { lastSignInAt: user?.lastSignInAt ?? null, lastActiveAt: user?.lastActiveAt ?? null };
};

describe("the session functions' registration", () => {
  it("registers one function per Clerk session event, serialised per user with the user functions", () => {
    const registered = Object.entries(functions).map(([name, fn]) => {
      const opts = fn["opts"] as { triggers: { event?: string; name?: string }[]; concurrency: unknown };
      return { id: fn.id(inngest.id), trigger: opts.triggers[0]?.name ?? opts.triggers[0]?.event, concurrency: opts.concurrency, name };
    });
    expect(registered.map(({ id, trigger }) => [id, trigger])).toEqual([
      ["clerk-mongo-sync-test-record-session-created", "clerk/session.created"],
      ["clerk-mongo-sync-test-record-session-ended", "clerk/session.ended"],
      ["clerk-mongo-sync-test-record-session-removed", "clerk/session.removed"],
      ["clerk-mongo-sync-test-record-session-revoked", "clerk/session.revoked"],
    ]);
    for (const { concurrency } of registered) {
      expect(concurrency).toEqual({ limit: 1, key: '"clerk-user:" + event.data.user_id', scope: "env" });
    }
    expect(perSessionUserConcurrency.key).toBe('"clerk-user:" + event.data.user_id');
  });

  it("schedules the purge with the cron it is given, and daily at 03:45 UTC by default", () => {
    expect((purge["opts"] as { triggers: unknown[] }).triggers).toEqual([{ cron: "15 4 * * *" }]);
    const byDefault = createPurgeSessionActivity(inngest, deps);
    expect((byDefault["opts"] as { triggers: unknown[] }).triggers).toEqual([{ cron: "45 3 * * *" }]);
  });
});

describe("clerk/session.created", () => {
  it("records a sign-in with the client's IP and user agent, and sets lastSignInAt and lastActiveAt", async () => {
    await storedUser("user_1");
    const { result, error } = await run("clerk/session.created", clerkSession({ id: "sess_1", createdAt: 10_000, lastActiveAt: 10_500 }), { id: "msg_1" });
    expect(error).toBeUndefined();
    expect(result).toEqual({ activity: "recorded", user: "advanced", appEventId: "app/user.signed_in:sess_1" });
    expect(await activity().find().lean()).toEqual([
      {
        _id: "sess_1:signed_in",
        userId: "user_1",
        kind: "signed_in",
        sessionId: "sess_1",
        at: new Date(10_000),
        clientIp: "203.0.113.7",
        userAgent: "Mozilla/5.0 (test)",
        createdAt: expect.any(Date),
      },
    ]);
    expect(await userTimes("user_1")).toEqual({ lastSignInAt: new Date(10_000), lastActiveAt: new Date(10_500) });
  });

  it("sends app/user.signed_in with the session's deterministic id, through step.sendEvent", async () => {
    await storedUser("user_1");
    const { ctx } = await run("clerk/session.created", clerkSession({ id: "sess_1", createdAt: 10_000 }));
    expect(eventApi.received.map(({ name, id }) => ({ name, id }))).toEqual([{ name: "app/user.signed_in", id: "app/user.signed_in:sess_1" }]);
    expect(ctx.step.sendEvent).toHaveBeenCalledTimes(1);
    expect(ctx.step.sendEvent).toHaveBeenCalledWith(
      "send-app-event",
      expect.objectContaining({
        name: "app/user.signed_in",
        id: "app/user.signed_in:sess_1",
        data: {
          v: 1,
          userId: "user_1",
          sessionId: "sess_1",
          occurredAt: new Date(10_000).toISOString(),
          clientIp: "203.0.113.7",
          userAgent: "Mozilla/5.0 (test)",
        },
      }),
    );
  });

  it("records null client details when the event carries no http_request (the direct path)", async () => {
    const { http_request: _dropped, ...direct } = clerkSession({ id: "sess_direct", createdAt: 1_000 });
    const { result, ctx } = await run("clerk/session.created", direct);
    expect(result).toMatchObject({ activity: "recorded" });
    expect(await activity().findById("sess_direct:signed_in").lean()).toMatchObject({ clientIp: null, userAgent: null });
    expect(ctx.step.sendEvent).toHaveBeenCalledWith("send-app-event", expect.objectContaining({ data: expect.objectContaining({ clientIp: null, userAgent: null }) }));
  });
});

describe.each([
  ["clerk/session.ended", "ended"],
  ["clerk/session.removed", "removed"],
  ["clerk/session.revoked", "revoked"],
] as const)("%s", (name, kind) => {
  it(`records a '${kind}' activity dated by the session's updated_at and leaves lastSignInAt alone`, async () => {
    await storedUser("user_1");
    await run("clerk/session.created", clerkSession({ id: "sess_1", createdAt: 1_000 }));
    const { result, error } = await run(name, clerkSession({ id: "sess_1", createdAt: 1_000, updatedAt: 8_000, lastActiveAt: 7_000, status: kind }));
    expect(error).toBeUndefined();
    expect(result).toEqual({ activity: "recorded", user: "advanced", appEventId: "app/user.signed_out:sess_1" });
    expect(await activity().findById(`sess_1:${kind}`).lean()).toMatchObject({ kind, at: new Date(8_000), userId: "user_1" });
    expect(await userTimes("user_1")).toEqual({ lastSignInAt: new Date(1_000), lastActiveAt: new Date(7_000) });
  });

  it(`sends app/user.signed_out with reason '${kind}' and the session's deterministic id`, async () => {
    const { ctx } = await run(name, clerkSession({ id: "sess_2", createdAt: 1_000, updatedAt: 8_000 }));
    expect(ctx.step.sendEvent).toHaveBeenCalledWith(
      "send-app-event",
      expect.objectContaining({
        name: "app/user.signed_out",
        id: "app/user.signed_out:sess_2",
        data: { v: 1, userId: "user_1", sessionId: "sess_2", occurredAt: new Date(8_000).toISOString(), reason: kind },
      }),
    );
  });
});

describe("ordering, duplicates and unknown users", () => {
  it("never moves lastSignInAt or lastActiveAt back when older events arrive after newer ones", async () => {
    await storedUser("user_1");
    await run("clerk/session.ended", clerkSession({ id: "sess_new", createdAt: 50_000, updatedAt: 60_000, lastActiveAt: 59_000 }));
    await run("clerk/session.created", clerkSession({ id: "sess_new", createdAt: 50_000 }));
    expect(await userTimes("user_1")).toEqual({ lastSignInAt: new Date(50_000), lastActiveAt: new Date(59_000) });

    const stale = await run("clerk/session.created", clerkSession({ id: "sess_old", createdAt: 20_000, lastActiveAt: 21_000 }));
    expect(stale.result).toMatchObject({ activity: "recorded", user: "unchanged" });
    await run("clerk/session.revoked", clerkSession({ id: "sess_old", createdAt: 20_000, updatedAt: 30_000 }));
    expect(await userTimes("user_1")).toEqual({ lastSignInAt: new Date(50_000), lastActiveAt: new Date(59_000) });

    await run("clerk/session.created", clerkSession({ id: "sess_newest", createdAt: 70_000 }));
    expect(await userTimes("user_1")).toEqual({ lastSignInAt: new Date(70_000), lastActiveAt: new Date(70_000) });
  });

  /** Six sessions of one user, each signed in then ended: 12 events. */
  const sixSessions = () =>
    Array.from({ length: 6 }, (_, index) => {
      const createdAt = (index + 1) * 1_000;
      return [
        ["clerk/session.created", clerkSession({ id: `sess_${index}`, createdAt })],
        ["clerk/session.ended", clerkSession({ id: `sess_${index}`, createdAt, updatedAt: createdAt + 500 })],
      ] as const;
    }).flat();

  it.each([1, 2, 3, 4, 5])(
    "ends at the newest times whatever order the events run in, one at a time per user as Inngest runs them (shuffle seed %i)",
    async (seed) => {
      await storedUser("user_1");
      const shuffled = seededRandom(seed).shuffle([...sixSessions()]);
      // Out of order for real: an older sign-in runs after the newest one.
      const newestSignIn = shuffled.findIndex(([name, data]) => name === "clerk/session.created" && data.id === "sess_5");
      expect(shuffled.slice(newestSignIn + 1).some(([name]) => name === "clerk/session.created")).toBe(true);
      for (const [name, data] of shuffled) expect((await run(name, data)).error).toBeUndefined();
      expect(await userTimes("user_1")).toEqual({ lastSignInAt: new Date(6_000), lastActiveAt: new Date(6_500) });
      expect(await activity().countDocuments({ userId: "user_1" })).toBe(12);
    },
  );

  it("even concurrent events cannot move the times back ($max is atomic per document)", async () => {
    // Inngest's per-user concurrency key serialises these runs; this checks the database's own
    // guarantee. (FerretDB 1.24 as released lost one of two concurrent updates of a document, $max
    // included; ../shared/tools/ferretdb.sh builds it with a write lock, so this runs on every server.)
    await storedUser("user_1");
    await Promise.all(seededRandom(7).shuffle([...sixSessions()]).map(([name, data]) => run(name, data)));
    expect(await userTimes("user_1")).toEqual({ lastSignInAt: new Date(6_000), lastActiveAt: new Date(6_500) });
  });

  it("records a redelivered or duplicated event once, and still sends its app event with the same id", async () => {
    await storedUser("user_1");
    const data = clerkSession({ id: "sess_1", createdAt: 1_000 });
    const runs = await Promise.all([run("clerk/session.created", data), run("clerk/session.created", data), run("clerk/session.created", data)]);
    expect(runs.map((outcome) => outcome.error)).toEqual([undefined, undefined, undefined]);
    expect(runs.map((outcome) => (outcome.result as { activity: string }).activity).sort()).toEqual(["duplicate", "duplicate", "recorded"]);
    expect(await activity().countDocuments()).toBe(1);
    for (const { ctx } of runs) {
      expect(ctx.step.sendEvent).toHaveBeenCalledWith("send-app-event", expect.objectContaining({ id: "app/user.signed_in:sess_1" }));
    }
  });

  it("a session ended, then removed, is one signed_out event id but two activity records", async () => {
    const ended = await run("clerk/session.ended", clerkSession({ id: "sess_1", createdAt: 1_000, updatedAt: 2_000 }));
    const removed = await run("clerk/session.removed", clerkSession({ id: "sess_1", createdAt: 1_000, updatedAt: 3_000 }));
    expect((ended.result as { appEventId: string }).appEventId).toBe("app/user.signed_out:sess_1");
    expect((removed.result as { appEventId: string }).appEventId).toBe("app/user.signed_out:sess_1");
    expect((await activity().find().sort({ at: 1 }).lean()).map((record) => record._id)).toEqual(["sess_1:ended", "sess_1:removed"]);
  });

  it("creates no user for a session of a user not stored here", async () => {
    const { result, error } = await run("clerk/session.created", clerkSession({ id: "sess_x", userId: "user_unknown", createdAt: 1_000 }));
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ user: "no-live-user" });
    expect(await db.users().countDocuments()).toBe(0);
  });

  it("does not touch a deleted user's tombstone", async () => {
    await storedUser("user_gone");
    await createUserStore(db.users()).apply({ kind: "delete", userId: "user_gone", deletedAt: new Date(5_000) });
    const { result } = await run("clerk/session.created", clerkSession({ id: "sess_z", userId: "user_gone", createdAt: 9_000 }));
    expect(result).toMatchObject({ user: "no-live-user" });
    const tombstone = await db.users().findById("user_gone").lean();
    expect(tombstone?.deletedAt).toEqual(new Date(5_000));
    expect(tombstone?.lastSignInAt).toBeUndefined();
    expect(tombstone?.lastActiveAt).toBeUndefined();
  });

  it("does not bump the user's updatedAt: activity is not a change to the user's data", async () => {
    await storedUser("user_1");
    const before = (await db.users().findById("user_1").lean())?.updatedAt;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await run("clerk/session.created", clerkSession({ id: "sess_1", createdAt: Date.now() }));
    const after = await db.users().findById("user_1").lean();
    expect(after?.lastSignInAt).toBeInstanceOf(Date);
    expect(after?.updatedAt).toEqual(before);
  });
});

describe("invalid payloads and failures", () => {
  it("a payload that fails validation stops without retrying and writes nothing", async () => {
    await storedUser("user_1");
    const { error } = await run("clerk/session.created", { id: "sess_1", object: "session" });
    // The SDK validates the trigger schema first (EventValidationError extends NonRetriableError).
    expect((error as Error).name).toBe("EventValidationError");
    expect((error as Error).message).toMatch(/user_id/);
    expect(await activity().countDocuments()).toBe(0);
    expect(await userTimes("user_1")).toEqual({ lastSignInAt: null, lastActiveAt: null });
  });

  it("the functions' own payload guard throws NonRetriableError", () => {
    expect(() => toSession({ id: "sess_1", user_id: "user_1" })).toThrow(NonRetriableError);
    expect(() => toSession({ id: "sess_1", user_id: "user_1" })).toThrow(/created_at/);
    expect(toSession(clerkSession({ id: "sess_1", createdAt: 5 }))).toMatchObject({ id: "sess_1", user_id: "user_1", created_at: 5 });
  });

  it("a database error fails the run as retryable, and sends no app event", async () => {
    const failing = createFunctions(inngest, {
      activity: async () => {
        throw Object.assign(new Error("connection 3 to 127.0.0.1:27017 closed"), { name: "MongoNetworkError" });
      },
    })["clerk/session.created"];
    const { error, ctx } = await new InngestTestEngine({ function: failing }).execute({
      events: [{ name: "clerk/session.created", data: clerkSession({ id: "sess_1", createdAt: 1 }) }],
    });
    expect(error).toMatchObject({ name: "MongoNetworkError" });
    expect((error as Error).name).not.toBe("NonRetriableError");
    expect(ctx.step.sendEvent).not.toHaveBeenCalled();
  });
});

describe("purge-session-activity", () => {
  it("deletes only the records older than the retention period, in one run", async () => {
    const store = createActivityStore(db.connection());
    const now = Date.now();
    const record = (id: string, at: number) =>
      store.record({ _id: `${id}:signed_in`, userId: "user_1", kind: "signed_in", sessionId: id, at: new Date(at), clientIp: null, userAgent: null });
    await record("sess_ancient", now - 400 * 86_400_000);
    await record("sess_old", now - retentionMs - 60_000);
    await record("sess_kept", now - retentionMs + 3_600_000);
    await record("sess_new", now);
    const { result, error } = await new InngestTestEngine({ function: purge }).execute({ events: [{ name: "inngest/scheduled.timer", data: {} }] });
    expect(error).toBeUndefined();
    expect(result).toEqual({ purged: 2 });
    expect((await activity().find().sort({ at: 1 }).lean()).map((doc) => doc.sessionId)).toEqual(["sess_kept", "sess_new"]);
  });
});
