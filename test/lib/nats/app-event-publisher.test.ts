import { nanos } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/logger.js";
import { AppEventPublishError, UnpublishableAppEventError, createAppEventPublisher, type AppEventPublisher } from "../../../lib/nats/app-event-publisher.js";
import { appEventSubjects, type AppEventName } from "../../../lib/nats/app-event-subjects.js";
import { appEventsStreamConfig, defaultStreamLimits, ensureAppEventsStream, resolveStreamLimits } from "../../../lib/nats/app-events-stream.js";
import { parseNatsUrl } from "../../../lib/nats/nats-url.js";
import { closeSharedAppEventPublishers, sharedAppEventPublisher } from "../../../lib/nats/shared-app-event-publisher.js";
import {
  appEventFixture,
  deleteAppEventsStream,
  readAppEventsStream,
  startNatsServer,
  withJetStream,
  type NatsServer,
} from "../../support/nats-server.js";

const silent = createLogger("silent");
let server: NatsServer;
const publishers: AppEventPublisher[] = [];
const publisher = (options: Partial<Parameters<typeof createAppEventPublisher>[0]> = {}) => {
  const created = createAppEventPublisher({ url: server.url, logger: silent, ...options });
  publishers.push(created);
  return created;
};

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(async () => {
  await server.start();
  await deleteAppEventsStream(server.url);
});
afterEach(async () => {
  await Promise.all(publishers.splice(0).map((open) => open.close()));
});

const allNames = Object.keys(appEventSubjects) as AppEventName[];

describe("publishing app events to JetStream", () => {
  it("puts each app event on its users.user.*, users.organization.* or users.membership.* subject, with its id as Nats-Msg-Id, a correlation id and a JSON content type", async () => {
    const nats = publisher();
    const events = allNames.map((name) => appEventFixture(name));
    const acks = [];
    for (const event of events) acks.push(await nats.publish(event));

    expect(acks).toEqual(events.map((_, index) => ({ seq: index + 1, duplicate: false })));
    const stored = await readAppEventsStream(server.url);
    expect(stored.map((message) => message.subject)).toEqual([
      "users.user.created",
      "users.user.updated",
      "users.user.deleted",
      "users.user.signed_in",
      "users.user.signed_out",
      "users.organization.created",
      "users.organization.updated",
      "users.organization.deleted",
      "users.membership.created",
      "users.membership.updated",
      "users.membership.deleted",
    ]);
    for (const [index, message] of stored.entries()) {
      const event = events[index]!;
      expect(message.headers).toMatchObject({ "Nats-Msg-Id": event.id, "Content-Type": "application/json" });
      expect(message.body).toEqual({ id: event.id, name: event.name, v: 1, data: event.data, ts: event.ts });
    }
    // Sync events correlate with what caused them (the Svix id); session events with themselves.
    expect(stored.map((message) => message.headers["Correlation-Id"])).toEqual([
      "msg_user_1",
      "msg_user_1",
      "msg_user_1",
      "app/user.signed_in:sess_user_1",
      "app/user.signed_out:sess_user_1",
      ...Array.from({ length: 6 }, () => "msg_org_user_1"),
    ]);
  });

  it("creates the stream on first publish with the configured limits, file storage and discard-old", async () => {
    await publisher({ stream: { maxMsgs: 500 } }).publish(appEventFixture("app/user.created"));
    const config = await withJetStream(server.url, async (jsm) => (await jsm.streams.info("USERS")).config);
    expect(config).toMatchObject({
      name: "USERS",
      subjects: ["users.>"],
      storage: "file",
      discard: "old",
      retention: "limits",
      max_age: nanos(7 * 86_400_000),
      max_msgs: 500,
      max_bytes: 100 * 1024 * 1024,
      duplicate_window: nanos(6 * 3_600_000),
      num_replicas: 1,
    });
  });

  it("creating the stream is idempotent: a second call, or a second instance, finds it and changes nothing", async () => {
    const limits = resolveStreamLimits();
    const [first, second] = await withJetStream(server.url, async (jsm) => [
      await ensureAppEventsStream(jsm, limits, silent),
      await ensureAppEventsStream(jsm, limits, silent),
    ]);
    expect(first).toEqual({ created: true });
    expect(second).toEqual({ created: false, drift: [] });

    // Two instances starting at once each ensure the stream, and both publish.
    const [a, b] = await Promise.all([
      publisher().publish(appEventFixture("app/user.created", "user_a")),
      publisher().publish(appEventFixture("app/user.created", "user_b")),
    ]);
    expect([a.seq, b.seq].sort()).toEqual([1, 2]);
    expect(await readAppEventsStream(server.url)).toHaveLength(2);
  });

  it("an existing stream with other limits is reported as drift and left unchanged", async () => {
    await withJetStream(server.url, (jsm) => jsm.streams.add({ ...appEventsStreamConfig(defaultStreamLimits), max_msgs: 42 }));
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
    const result = await withJetStream(server.url, (jsm) => ensureAppEventsStream(jsm, resolveStreamLimits(), logger));
    expect(result).toEqual({ created: false, drift: ["max_msgs"] });
    expect(lines.join("")).toContain("exists with other settings than configured");
    const config = await withJetStream(server.url, async (jsm) => (await jsm.streams.info("USERS")).config);
    expect(config.max_msgs).toBe(42);
  });
});

describe("duplicate suppression", () => {
  it("the same event id published twice is stored once, and the second PubAck says duplicate", async () => {
    const event = appEventFixture("app/user.updated");
    const first = await publisher().publish(event);
    // A retry of the same event, even from another instance and with a later ts, is the same message.
    const again = await publisher().publish({ ...event, ts: event.ts + 60_000 });

    expect(first).toEqual({ seq: 1, duplicate: false });
    expect(again).toEqual({ seq: 1, duplicate: true });
    const stored = await readAppEventsStream(server.url);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.body.ts).toBe(event.ts);
  });

  it("different event ids for the same user are all kept", async () => {
    const nats = publisher();
    await nats.publish(appEventFixture("app/user.updated", "user_1", 1_000));
    await nats.publish(appEventFixture("app/user.updated", "user_1", 2_000));
    expect((await readAppEventsStream(server.url)).map((message) => message.headers["Nats-Msg-Id"])).toEqual([
      "app/user.updated:user_1:1000",
      "app/user.updated:user_1:2000",
    ]);
  });
});

describe("failures", () => {
  it("a publish while the broker is down rejects quickly with a retryable AppEventPublishError, and works again once it is back", async () => {
    const nats = publisher({ timeoutMs: 1_000 });
    await nats.publish(appEventFixture("app/user.created", "user_1"));
    await server.stop();

    const startedAt = Date.now();
    const failure = await nats.publish(appEventFixture("app/user.created", "user_2")).catch((error: unknown) => error);
    expect(Date.now() - startedAt).toBeLessThan(1_500);
    expect(failure).toBeInstanceOf(AppEventPublishError);
    expect((failure as Error).message).toMatch(/app\/user\.created:user_2 to users\.user\.created failed/);

    await server.start();
    await expect(nats.publish(appEventFixture("app/user.created", "user_2"))).resolves.toEqual({ seq: 2, duplicate: false });
  });

  it("a broker that stops answering (socket open) makes publish reject after timeoutMs, not hang", async () => {
    const nats = publisher({ timeoutMs: 500 });
    await nats.publish(appEventFixture("app/user.created", "user_1"));
    await server.pause();
    try {
      const startedAt = Date.now();
      await expect(nats.publish(appEventFixture("app/user.created", "user_2"))).rejects.toThrow(AppEventPublishError);
      expect(Date.now() - startedAt).toBeLessThan(1_500);
    } finally {
      server.resume();
    }
    // The lost-ack case: the frozen broker may store the message on waking; the retry then finds it.
    await nats.publish(appEventFixture("app/user.created", "user_2"));
    const ids = (await readAppEventsStream(server.url)).map((message) => message.headers["Nats-Msg-Id"]);
    expect(ids).toEqual(["app/user.created:user_1", "app/user.created:user_2"]);
  });

  it("an event without a subject is refused as unpublishable, before touching the broker", async () => {
    const nats = publisher({ url: "nats://127.0.0.1:9" });
    await expect(nats.publish({ id: "x", name: "app/users.reconcile.requested", data: {} })).rejects.toThrow(UnpublishableAppEventError);
    await expect(nats.publish({ id: "", name: "app/user.created", data: {} })).rejects.toThrow(UnpublishableAppEventError);
  });
});

describe("configuration", () => {
  it("credentials in the URL are used to connect and never appear in the logs", async () => {
    const secured = await startNatsServer({ auth: { user: "publisher", pass: "s3cret-Pa55" } });
    try {
      const lines: string[] = [];
      const logger = createLogger("debug", { write: (line: string) => void lines.push(line) });
      const nats = publisher({ url: secured.url, logger });
      await expect(nats.publish(appEventFixture("app/user.created"))).resolves.toEqual({ seq: 1, duplicate: false });
      await secured.stop();
      await nats.publish(appEventFixture("app/user.deleted")).catch(() => undefined);
      await nats.close();

      const logs = lines.join("");
      expect(logs).toContain("connected to NATS JetStream");
      expect(logs).toContain(`nats://127.0.0.1:${secured.port}`);
      expect(logs).not.toContain("s3cret-Pa55");
      expect(logs).not.toContain("publisher:");

      // Without them the same server refuses the connection: the credentials really were used.
      await secured.start();
      const anonymous = publisher({ url: `nats://127.0.0.1:${secured.port}` });
      const refused = await anonymous.publish(appEventFixture("app/user.created")).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AppEventPublishError);
      expect(String(refused)).not.toContain("s3cret-Pa55");
    } finally {
      await secured.close();
    }
  });

  it("parses user:password, token and tls:// URLs, and a list of servers", () => {
    expect(parseNatsUrl("nats://app:p%40ss@nats-1:4222, nats://nats-2:4222")).toEqual({
      servers: ["nats-1:4222", "nats-2:4222"],
      user: "app",
      pass: "p@ss",
      redacted: "nats://nats-1:4222,nats://nats-2:4222",
    });
    expect(parseNatsUrl("tls://t0ken@nats.example.com:4222")).toEqual({
      servers: ["nats.example.com:4222"],
      token: "t0ken",
      tls: {},
      redacted: "tls://nats.example.com:4222",
    });
    expect(() => parseNatsUrl("http://user:hunter2@nats:4222")).toThrow(/must start with nats:\/\/ or tls:\/\//);
    expect(() => parseNatsUrl("http://user:hunter2@nats:4222")).not.toThrow(/hunter2/);
  });

  it("the shared publisher is one per process and configuration, until closed", async () => {
    const shared = sharedAppEventPublisher({ url: server.url, logger: silent });
    expect(sharedAppEventPublisher({ url: server.url, logger: createLogger("info") })).toBe(shared);
    expect(sharedAppEventPublisher({ url: server.url, stream: { maxMsgs: 10 }, logger: silent })).not.toBe(shared);
    await expect(shared.publish(appEventFixture("app/user.created"))).resolves.toEqual({ seq: 1, duplicate: false });

    await closeSharedAppEventPublishers();
    await expect(shared.publish(appEventFixture("app/user.deleted"))).rejects.toThrow("the app event publisher is closed");
    const fresh = sharedAppEventPublisher({ url: server.url, logger: silent });
    expect(fresh).not.toBe(shared);
    await expect(fresh.publish(appEventFixture("app/user.deleted"))).resolves.toEqual({ seq: 2, duplicate: false });
    await closeSharedAppEventPublishers();
  });

  it("refuses stream limits JetStream would refuse, naming the option", () => {
    expect(() => resolveStreamLimits({ maxMsgs: 0 })).toThrow("stream.maxMsgs must be a positive integer, got 0");
    expect(() => resolveStreamLimits({ maxAgeMs: 60_000 })).toThrow(/stream.duplicateWindowMs .* must not exceed stream.maxAgeMs/);
    expect(() => resolveStreamLimits({ replicas: 7 })).toThrow("stream.replicas must be an integer from 1 to 5, got 7");
    expect(resolveStreamLimits({ maxBytes: undefined })).toEqual(defaultStreamLimits);
  });
});
