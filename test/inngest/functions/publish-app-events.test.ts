import { InngestTestEngine } from "@inngest/test";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInngestClient } from "../../../inngest/client.js";
import { appEvents } from "../../../inngest/events.js";
import { createPublishAppEvents } from "../../../inngest/functions/publish-app-events.js";
import { createLogger } from "../../../lib/logger.js";
import { UnpublishableAppEventError, createAppEventPublisher, type AppEventPublisher } from "../../../lib/nats/app-event-publisher.js";
import type { AppEventName } from "../../../lib/nats/app-event-subjects.js";
import { deployedAppEventNames } from "../../support/app-event-names.js";
import { testInngestConfig } from "../../support/inngest.js";
import { appEventFixture, deleteAppEventsStream, readAppEventsStream, startNatsServer, type NatsServer } from "../../support/nats-server.js";

const inngest = createInngestClient(testInngestConfig, createLogger("silent"));
let server: NatsServer;
let publisher: AppEventPublisher | null = null;
const fn = createPublishAppEvents(inngest, { publisher: async () => publisher });

/** One run, as Inngest would start it for this event (a fresh engine: engines cache step results). */
const run = (event: ReturnType<typeof appEventFixture>, target = fn) => new InngestTestEngine({ function: target }).execute({ events: [event] });

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(async () => {
  await server.start();
  await deleteAppEventsStream(server.url);
  publisher = createAppEventPublisher({ url: server.url, timeoutMs: 1_000, logger: createLogger("silent") });
});
afterEach(async () => {
  await publisher?.close();
});

describe("publish-app-events, run by @inngest/test", () => {
  it("is one function triggered by every app event, retried 10 times", () => {
    const opts = fn["opts"] as { id: string; triggers: { event: string }[]; retries: number };
    expect(fn.id(inngest.id)).toBe("clerk-mongo-sync-test-publish-app-events");
    expect(opts.triggers.map((trigger) => trigger.event)).toEqual(appEvents.map((event) => event.name));
    expect(opts.triggers.map((trigger) => trigger.event)).toEqual(deployedAppEventNames);
    expect(opts.retries).toBe(10);
  });

  it("after the last retry fails, logs which event was not published so it can be replayed", () => {
    const logged: unknown[][] = [];
    const onFailure = (fn["opts"] as { onFailure: (ctx: unknown) => void }).onFailure;
    const event = appEventFixture("app/user.updated");
    onFailure({
      event: { name: "inngest/function.failed", data: { event, error: { message: "x" } } },
      error: new Error("publishing app/user.updated:user_1 to users.user.updated failed (ConnectionError: connection refused)"),
      logger: { error: (...args: unknown[]) => logged.push(args) },
    });
    expect(logged).toEqual([
      [
        { eventId: event.id, eventName: "app/user.updated", reason: expect.stringContaining("connection refused") },
        expect.stringContaining("not published to NATS after every retry"),
      ],
    ]);
  });

  it("publishes the triggering event in its `publish` step and returns the PubAck", async () => {
    const event = appEventFixture("app/user.signed_out");
    const { result, error, ctx } = await run(event);
    expect(error).toBeUndefined();
    expect(result).toEqual({ published: event.id, seq: 1, duplicate: false });
    expect(ctx.step.run).toHaveBeenCalledWith("publish", expect.any(Function));
    const [stored] = await readAppEventsStream(server.url);
    expect(stored).toMatchObject({ subject: "users.user.signed_out", headers: { "Nats-Msg-Id": event.id }, body: { id: event.id, data: event.data } });
  });

  it("does nothing when NATS is not configured", async () => {
    publisher = null;
    const { result, error, ctx } = await run(appEventFixture("app/user.created"));
    expect(error).toBeUndefined();
    expect(result).toEqual({ skipped: "NATS_URL not set" });
    expect(ctx.step.run).not.toHaveBeenCalled();
  });

  it("an event the publisher cannot map stops with NonRetriableError instead of retrying", async () => {
    const refusing = createPublishAppEvents(inngest, {
      publisher: async () => ({
        publish: async () => {
          throw new UnpublishableAppEventError("no NATS subject for event app/user.created");
        },
        close: async () => undefined,
      }),
    });
    const { error } = await run(appEventFixture("app/user.created"), refusing);
    expect(error).toMatchObject({ name: "NonRetriableError", message: "no NATS subject for event app/user.created" });
  });

  it("a broker outage fails runs as retryable; once it is back the retried runs publish every event exactly once", async () => {
    const names: AppEventName[] = ["app/user.created", "app/user.updated", "app/user.deleted", "app/user.signed_in", "app/user.signed_out"];
    const before = [appEventFixture("app/user.created", "user_a"), appEventFixture("app/user.updated", "user_a")];
    const during = names.map((name) => appEventFixture(name, "user_b"));

    for (const event of before) expect((await run(event)).error).toBeUndefined();
    await server.stop();

    // Every attempt while the broker is down fails fast, with an error Inngest retries.
    const failedAttempts = [];
    for (const event of [...during, ...during]) {
      const startedAt = Date.now();
      const { error, result } = await run(event);
      expect(Date.now() - startedAt).toBeLessThan(2_500);
      expect(result).toBeUndefined();
      failedAttempts.push(error);
    }
    for (const error of failedAttempts) {
      expect(error).toMatchObject({ name: "AppEventPublishError", message: expect.stringMatching(/failed \((ConnectionError|RequestError|ClosedConnectionError)/) });
      expect(error).not.toMatchObject({ name: "NonRetriableError" });
    }

    await server.start();
    // Inngest's retries, in whatever order, plus a retry of a run published before the outage
    // whose PubAck was lost: every message lands once.
    const retried = await Promise.all([...during].reverse().map((event) => run(event)));
    expect(retried.map(({ error }) => error)).toEqual(during.map(() => undefined));
    expect(retried.map(({ result }) => (result as { duplicate: boolean }).duplicate)).toEqual(during.map(() => false));
    const lostAck = await run(before[1]!);
    expect(lostAck.result).toEqual({ published: before[1]!.id, seq: 2, duplicate: true });

    const stored = await readAppEventsStream(server.url);
    const ids = stored.map((message) => message.headers["Nats-Msg-Id"]);
    expect(ids).toHaveLength(before.length + during.length);
    expect(new Set(ids)).toEqual(new Set([...before, ...during].map((event) => event.id)));
    // The stream survived the restart (file storage): the events from before are still first.
    expect(ids.slice(0, 2)).toEqual(before.map((event) => event.id));
  });

  it("forwards organization and membership events to their subjects; a run repeated after a lost PubAck stores nothing twice", async () => {
    const names: AppEventName[] = ["app/organization.created", "app/organization.updated", "app/organization.deleted", "app/membership.created", "app/membership.updated", "app/membership.deleted"];
    const events = names.map((name) => appEventFixture(name, "user_o"));
    for (const event of events) expect((await run(event)).result).toMatchObject({ published: event.id, duplicate: false });
    // Inngest retrying every run (a PubAck lost each time): JetStream recognises every message id.
    const retried = await Promise.all(events.map((event) => run(event)));
    expect(retried.map(({ result }) => (result as { duplicate: boolean }).duplicate)).toEqual(events.map(() => true));
    const stored = await readAppEventsStream(server.url);
    expect(stored.map((message) => [message.subject, message.headers["Nats-Msg-Id"]])).toEqual([
      ["users.organization.created", "app/organization.created:org_user_o"],
      ["users.organization.updated", `app/organization.updated:org_user_o:${events[1]!.ts}`],
      ["users.organization.deleted", "app/organization.deleted:org_user_o"],
      ["users.membership.created", "app/membership.created:org_user_o:user_o:orgmem_user_o"],
      ["users.membership.updated", `app/membership.updated:org_user_o:user_o:orgmem_user_o:${events[4]!.ts}`],
      ["users.membership.deleted", "app/membership.deleted:org_user_o:user_o:orgmem_user_o"],
    ]);
    expect(stored[5]).toMatchObject({ headers: { "Correlation-Id": "msg_org_user_o" }, body: { data: { reason: "removed", organizationId: "org_user_o", userId: "user_o" } } });
  });

  it("a broker frozen mid-publish (the PubAck never comes) fails the run; the retry leaves one message", async () => {
    const event = appEventFixture("app/user.deleted", "user_c");
    await server.pause();
    try {
      const { error } = await run(event);
      expect(error).toMatchObject({ name: "AppEventPublishError", message: expect.stringContaining("TimeoutError") });
    } finally {
      server.resume();
    }
    const retry = await run(event);
    expect(retry.error).toBeUndefined();
    expect((await readAppEventsStream(server.url)).map((message) => message.headers["Nats-Msg-Id"])).toEqual([event.id]);
  });
});
