import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { consume, type AppEventMessage, type ConsumeOptions, type Delivery } from "../../../examples/nats-subscriber.js";
import { createLogger } from "../../../lib/logger.js";
import { createAppEventPublisher, type AppEventPublisher } from "../../../lib/nats/app-event-publisher.js";
import {
  appEventFixture,
  deleteAppEventsStream,
  startNatsServer,
  waitFor,
  withJetStream,
  type NatsServer,
} from "../../support/nats-server.js";

let server: NatsServer;
let publisher: AppEventPublisher;
let connection: NatsConnection;
const quiet = { info: () => undefined, warn: () => undefined };

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(async () => {
  await deleteAppEventsStream(server.url);
  publisher = createAppEventPublisher({ url: server.url, logger: createLogger("silent") });
  connection = await connect({ servers: `127.0.0.1:${server.port}` });
});
afterEach(async () => {
  await publisher.close();
  await connection.close();
});

/** Runs the example's `consume` until `until()` holds, then stops it and returns its stats. */
async function consumeUntil(until: () => boolean, options: Omit<ConsumeOptions, "connection" | "signal" | "durable"> & { durable?: string }) {
  const controller = new AbortController();
  const done = consume({ connection, durable: "billing", logger: quiet, retryDelayMs: () => 100, ...options, signal: controller.signal });
  try {
    await waitFor(until, "the subscriber to handle the messages");
  } finally {
    controller.abort();
  }
  return done;
}

const consumerState = (durable = "billing") => withJetStream(server.url, (jsm) => jsm.consumers.info("USERS", durable));

describe("the example NATS subscriber", () => {
  it("hands each event to the handler parsed and typed, acks it, and a failing handler gets the message again", async () => {
    const created = appEventFixture("app/user.created", "user_1");
    const updated = appEventFixture("app/user.updated", "user_1");
    const signedIn = appEventFixture("app/user.signed_in", "user_2");
    for (const event of [created, updated, signedIn]) await publisher.publish(event);

    const deliveries: { event: AppEventMessage; delivery: Delivery }[] = [];
    const handled = new Set<string>();
    const stats = await consumeUntil(() => handled.size === 3, {
      handle: async (event, delivery) => {
        deliveries.push({ event, delivery });
        if (event.name === "app/user.updated" && delivery.deliveryCount === 1) throw new Error("CRM is down");
        handled.add(event.id);
      },
    });

    expect(stats).toEqual({ acked: 3, retried: 1, rejected: 0, ignored: 0 });
    expect(deliveries.map(({ event, delivery }) => [event.id, delivery.deliveryCount, delivery.redelivered])).toEqual([
      [created.id, 1, false],
      [updated.id, 1, false],
      [signedIn.id, 1, false],
      [updated.id, 2, true],
    ]);
    const [first] = deliveries;
    expect(first?.event).toEqual({ id: created.id, name: "app/user.created", v: 1, data: created.data, ts: created.ts });
    expect(first?.delivery).toMatchObject({ subject: "users.user.created", seq: 1, correlationId: "msg_user_1" });
    // Everything acknowledged: nothing pending, nothing awaiting an ack.
    const state = await consumerState();
    expect(state.config).toMatchObject({ durable_name: "billing", ack_policy: "explicit", filter_subject: "users.>" });
    expect(state).toMatchObject({ num_pending: 0, num_ack_pending: 0, ack_floor: { stream_seq: 3 } });
  });

  it("a restarted durable consumer resumes after the last acked message", async () => {
    // A short ack wait: the stopped run's pull request stays open on the server (2.9 has no way
    // to cancel it), so a message published right after the stop goes there and comes back
    // to the next run after the ack wait. Delayed, not lost.
    const ackWaitMs = 1_000;
    await publisher.publish(appEventFixture("app/user.created", "user_1"));
    const firstRun: string[] = [];
    await consumeUntil(() => firstRun.length === 1, { ackWaitMs, handle: async (event) => void firstRun.push(event.id) });

    await publisher.publish(appEventFixture("app/user.deleted", "user_1"));
    const secondRun: string[] = [];
    await consumeUntil(() => secondRun.length === 1, { ackWaitMs, handle: async (event) => void secondRun.push(event.id) });
    expect(firstRun).toEqual(["app/user.created:user_1"]);
    expect(secondRun).toEqual(["app/user.deleted:user_1"]);
    expect(await consumerState()).toMatchObject({ num_pending: 0, num_ack_pending: 0, ack_floor: { stream_seq: 2 } });
  });

  it("terminates messages it can never handle, and skips event names it does not know", async () => {
    await publisher.publish(appEventFixture("app/user.created", "user_1")); // creates the stream
    const js = jetstream(connection);
    await js.publish("users.user.created", "not json");
    await js.publish("users.user.created", JSON.stringify({ ...appEventFixture("app/user.created", "user_2"), data: { v: 1 } }));
    await js.publish("users.user.mfa_enabled", JSON.stringify({ id: "app/user.mfa_enabled:user_1", name: "app/user.mfa_enabled", v: 1, data: {}, ts: 1 }));
    await publisher.publish(appEventFixture("app/user.deleted", "user_1"));

    const handled: string[] = [];
    const stats = await consumeUntil(() => handled.length === 2, { handle: async (event) => void handled.push(event.id) });

    expect(handled).toEqual(["app/user.created:user_1", "app/user.deleted:user_1"]);
    expect(stats).toEqual({ acked: 2, retried: 0, rejected: 2, ignored: 1 });
    await waitFor(async () => (await consumerState()).num_ack_pending === 0, "the terminations to settle", 3_000);
    expect(await consumerState()).toMatchObject({ num_pending: 0, num_ack_pending: 0, num_redelivered: 0 });
  });
});
