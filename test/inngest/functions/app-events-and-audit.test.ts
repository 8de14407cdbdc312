import { InngestTestEngine, mockCtx } from "@inngest/test";
import { describe, expect, it } from "vitest";
import { createAuditLog } from "../../../lib/audit/audit-log.js";
import { createOutboxPublisher } from "../../../lib/events/outbox.js";
import type { AppEvent } from "../../../lib/sync/types.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { clerkUser, clerkUserDeleted } from "../../support/clerk-fixtures.js";
import { syncFunctionEngines } from "../../support/inngest.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();

function engines(send: (events: AppEvent[]) => Promise<unknown>) {
  const audit = async () => createAuditLog(db.connection());
  return syncFunctionEngines(async () => createUserStore(db.users(), { audit: await audit() }), undefined, {
    outbox: async () => createOutboxPublisher(db.users(), send),
    audit,
  });
}
const history = async (userId: string) => (await createAuditLog(db.connection()).history(userId, { limit: 50 })).reverse();

describe("app events from the sync functions", () => {
  it("a change emits one typed app event with a deterministic id; a duplicate emits nothing", async () => {
    const sent: AppEvent[] = [];
    const { engineFor } = engines(async (events) => void sent.push(...events));
    const created = { name: "clerk/user.created", id: "msg_1", data: clerkUser({ id: "user_1", updatedAt: 1_000 }) as never };
    await engineFor("clerk/user.created").execute({ events: [created] });
    await engineFor("clerk/user.created").execute({ events: [{ ...created, id: "msg_1_redelivered" }] });
    const updated = { name: "clerk/user.updated", id: "msg_2", data: clerkUser({ id: "user_1", updatedAt: 2_000, firstName: "Augusta" }) as never };
    await engineFor("clerk/user.updated").execute({ events: [updated] });
    await engineFor("clerk/user.deleted").execute({ events: [{ name: "clerk/user.deleted", id: "msg_3", data: clerkUserDeleted("user_1") }] });

    expect(sent.map((event) => event.id)).toEqual(["app/user.created:user_1", "app/user.updated:user_1:2000", "app/user.deleted:user_1"]);
    expect(sent[1]?.data).toMatchObject({ v: 1, source: "webhook", sourceEventId: "msg_2", changedFields: ["firstName"] });
  });

  it("a publication that fails is retried with the same event id, and the event is never lost", async () => {
    let calls = 0;
    const sent: string[] = [];
    const { engineFor } = engines(async (events) => {
      calls += 1;
      if (calls === 1) throw new Error("Inngest unavailable");
      sent.push(...events.map((event) => event.id));
    });
    const event = { name: "clerk/user.created", id: "msg_1", data: clerkUser({ id: "user_1", updatedAt: 1_000 }) as never };
    const first = await engineFor("clerk/user.created").execute({ events: [event] });
    expect(first.error).toBeDefined();
    // Inngest retries the run: the apply step is now a duplicate, the outbox still holds the event.
    const retry = await engineFor("clerk/user.created").execute({ events: [event] });
    expect(retry.error).toBeUndefined();
    expect(sent).toEqual(["app/user.created:user_1"]);
  });
});

describe("the audit trail", () => {
  it("records every decision with its source, source event id and outcome", async () => {
    const { engineFor } = engines(async () => {});
    const created = { name: "clerk/user.created", id: "msg_1", data: clerkUser({ id: "user_1", updatedAt: 2_000 }) as never };
    await engineFor("clerk/user.created").execute({ events: [created] });
    await engineFor("clerk/user.created").execute({ events: [created] });
    await engineFor("clerk/user.updated").execute({ events: [{ name: "clerk/user.updated", id: "msg_0", data: clerkUser({ id: "user_1", updatedAt: 1_000 }) as never }] });
    await engineFor("clerk/user.deleted").execute({ events: [{ name: "clerk/user.deleted", id: "msg_9", data: clerkUserDeleted("user_1") }] });
    await engineFor("clerk/user.updated").execute({ events: [{ name: "clerk/user.updated", id: "msg_10", data: clerkUser({ id: "user_1", updatedAt: 9_000 }) as never }] });

    expect((await history("user_1")).map(({ decision, change, sourceEventId, source }) => ({ decision, change, sourceEventId, source }))).toEqual([
      { decision: "applied", change: "created", sourceEventId: "msg_1", source: "webhook" },
      { decision: "duplicate", change: null, sourceEventId: "msg_1", source: "webhook" },
      { decision: "stale", change: null, sourceEventId: "msg_0", source: "webhook" },
      { decision: "applied", change: "deleted", sourceEventId: "msg_9", source: "webhook" },
      { decision: "tombstoned", change: null, sourceEventId: "msg_10", source: "webhook" },
    ]);
  });

  it("records a batch whose run exhausted its retries as failed, every event of it, and a rejected payload as rejected", async () => {
    const audit = async () => createAuditLog(db.connection());
    const down = Object.assign(new Error("connection closed"), { name: "MongoNetworkError" });
    const broken = syncFunctionEngines(
      async () => ({ apply: () => Promise.reject(down), applyBatch: () => Promise.reject(down), applyEvents: () => Promise.reject(down) }),
      undefined,
      { audit },
    );
    const batch = [
      { name: "clerk/user.updated", id: "msg_5", data: clerkUser({ id: "user_2", updatedAt: 1_000 }) as never },
      { name: "clerk/user.updated", id: "msg_7", data: clerkUser({ id: "user_3", updatedAt: 1_000 }) as never },
    ];
    const events = batch as [(typeof batch)[number], ...typeof batch];
    // An attempt that fails is retried by Inngest, which audits nothing.
    const attempt = await broken.engineFor("clerk/user.updated").execute({ events });
    expect(attempt.error).toMatchObject({ name: "MongoNetworkError" });
    expect(await history("user_2")).toEqual([]);
    // The last attempt: it audits every event of its batch as failed before failing for good.
    const updatedFunction = broken.functions.find((fn) => fn.id().endsWith("sync-clerk-user-updated"));
    if (!updatedFunction) throw new Error("no sync-clerk-user-updated function");
    const lastAttempt = new InngestTestEngine({ function: updatedFunction, transformCtx: (ctx) => ({ ...mockCtx(ctx), attempt: 4, maxAttempts: 5 }) });
    const last = await lastAttempt.execute({ events });
    expect(last.error).toMatchObject({ name: "MongoNetworkError" });

    const { engineFor } = engines(async () => {});
    const rejected = await engineFor("clerk/user.updated").execute({
      events: [
        { name: "clerk/user.updated", id: "msg_6", data: { id: "user_2", object: "user" } },
        { name: "clerk/user.updated", id: "msg_8", data: clerkUser({ id: "user_4", updatedAt: 1_000 }) as never },
      ],
    });
    // The bad payload fails the run without retries, after the good one of its batch is applied.
    expect(rejected.error).toMatchObject({ name: "NonRetriableError", message: expect.stringContaining("updated_at") });
    expect(await db.users().findById("user_4").lean()).toMatchObject({ firstName: expect.any(String) });

    expect((await history("user_2")).map(({ decision, sourceEventId, detail }) => ({ decision, sourceEventId, detail }))).toEqual([
      { decision: "failed", sourceEventId: "msg_5", detail: "connection closed" },
      { decision: "rejected", sourceEventId: "msg_6", detail: expect.stringContaining("updated_at") },
    ]);
    expect((await history("user_3")).map(({ decision }) => decision)).toEqual(["failed"]);
    expect(await (await audit()).countFailuresSince(new Date(0))).toBe(2);
  });
});
