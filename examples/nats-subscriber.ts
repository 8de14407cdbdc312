/**
 * Example: a downstream service consuming the app events from NATS JetStream
 * (see docs/events.md). Copy it into your service and replace `handle`.
 *
 *   NATS_URL=nats://127.0.0.1:4222 npx tsx examples/nats-subscriber.ts [consumer-name]
 *
 * A durable pull consumer with explicit acks: JetStream remembers, per consumer name,
 * which messages this service has processed, across restarts and instances (run several
 * with the same name to share the work). A message is acked once handled; a failure is
 * nak'ed and redelivered after a growing delay; a message that can never be handled (not
 * JSON, or not matching the event schema) is terminated instead of redelivered forever
 * (`term()` without a reason: nats-server 2.9 ignores a `term(reason)`, and redelivers).
 *
 * Delivery is at least once: a handler must tolerate seeing an event twice (use `id`)
 * and out of order (compare `data.user.clerkUpdatedAt` / `data.occurredAt`, not `seq`).
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import {
  appEvents,
  appMembershipCreated,
  appMembershipDeleted,
  appMembershipUpdated,
  appOrganizationCreated,
  appOrganizationDeleted,
  appOrganizationUpdated,
  appUserCreated,
  appUserDeleted,
  appUserSignedIn,
  appUserSignedOut,
  appUserUpdated,
} from "../inngest/events.js";
import { appEventHeaders, appEventsStream, appEventsSubjects } from "../lib/nats/app-event-subjects.js";
import { connectionOptionsFor, parseNatsUrl } from "../lib/nats/nats-url.js";

/** One message schema per app event: the envelope, with the event's own `data` schema from inngest/events.ts. */
function messageSchema<const TName extends string, TData extends z.ZodType>(event: { name: TName; schema: TData }) {
  return z.object({ id: z.string().min(1), name: z.literal(event.name), v: z.number().int().positive(), data: event.schema, ts: z.number() });
}

export const appEventMessageSchema = z.discriminatedUnion("name", [
  messageSchema(appUserCreated),
  messageSchema(appUserUpdated),
  messageSchema(appUserDeleted),
  messageSchema(appUserSignedIn),
  messageSchema(appUserSignedOut),
  messageSchema(appOrganizationCreated),
  messageSchema(appOrganizationUpdated),
  messageSchema(appOrganizationDeleted),
  messageSchema(appMembershipCreated),
  messageSchema(appMembershipUpdated),
  messageSchema(appMembershipDeleted),
]);

/** A parsed message: `switch (event.name)` narrows `event.data` to that event's payload. */
export type AppEventMessage = z.infer<typeof appEventMessageSchema>;

const knownNames = new Set<string>(appEvents.map((event) => event.name));

export interface Delivery {
  subject: string;
  /** The message's sequence in the stream. */
  seq: number;
  /** 1 on first delivery. */
  deliveryCount: number;
  redelivered: boolean;
  correlationId: string | null;
}

export type AppEventHandler = (event: AppEventMessage, delivery: Delivery) => Promise<void>;

export interface ConsumeOptions {
  connection: NatsConnection;
  /** The durable consumer's name: one per consuming service. */
  durable: string;
  handle: AppEventHandler;
  /** Aborting stops consuming; `consume` then resolves. */
  signal?: AbortSignal;
  /** The subjects wanted (default every app event). One filter: nats-server 2.9 has no `filter_subjects`. */
  filterSubject?: string;
  /** How long a delivered message may stay unacknowledged before JetStream redelivers it. Default 30 s. */
  ackWaitMs?: number;
  /** Delay before a failed message is redelivered. Default 1 s, doubling per delivery, at most 60 s. */
  retryDelayMs?: (deliveryCount: number) => number;
  logger?: Pick<Console, "info" | "warn">;
}

export interface ConsumeStats {
  acked: number;
  /** Handler failures, nak'ed for redelivery. */
  retried: number;
  /** Unparseable or invalid messages, terminated (never redelivered). */
  rejected: number;
  /** Event names this code does not know (newer than it): acked and skipped. */
  ignored: number;
}

const defaultRetryDelayMs = (deliveryCount: number) => Math.min(1_000 * 2 ** (deliveryCount - 1), 60_000);

/**
 * Consumes app events until `signal` aborts; creates the durable consumer on first use.
 * After a stop, the server keeps this run's last pull request open until it expires
 * (nats-server 2.9 cannot cancel it): a message published then is delivered to nobody and
 * comes back after `ackWaitMs`, to whichever instance is consuming. Delayed, never lost.
 */
export async function consume(options: ConsumeOptions): Promise<ConsumeStats> {
  const logger = options.logger ?? console;
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  const stats: ConsumeStats = { acked: 0, retried: 0, rejected: 0, ignored: 0 };

  const jsm = await jetstreamManager(options.connection);
  await ensureConsumer(jsm, options);
  const consumer = await jetstream(options.connection).consumers.get(appEventsStream, options.durable);
  const messages = await consumer.consume({ max_messages: 64 });
  const stop = () => void messages.close();
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const msg of messages) stats[await settle(msg)] += 1;
  } finally {
    options.signal?.removeEventListener("abort", stop);
    await messages.close();
  }
  return stats;

  async function settle(msg: JsMsg): Promise<keyof ConsumeStats> {
    let body: unknown;
    try {
      body = msg.json();
    } catch {
      logger.warn(`seq ${msg.seq}: not JSON; terminated`);
      msg.term();
      return "rejected";
    }
    const name = (body as { name?: unknown } | null)?.name;
    if (typeof name !== "string" || !knownNames.has(name)) {
      logger.info(`seq ${msg.seq}: event ${String(name)} is unknown to this consumer; skipped`);
      msg.ack();
      return "ignored";
    }
    const parsed = appEventMessageSchema.safeParse(body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
      logger.warn(`seq ${msg.seq}: invalid ${name} (${issues}); terminated`);
      msg.term();
      return "rejected";
    }
    const delivery: Delivery = {
      subject: msg.subject,
      seq: msg.seq,
      deliveryCount: msg.info.deliveryCount,
      redelivered: msg.redelivered,
      correlationId: msg.headers?.get(appEventHeaders.correlationId) || null,
    };
    try {
      await options.handle(parsed.data, delivery);
      msg.ack();
      return "acked";
    } catch (error) {
      const delayMs = retryDelayMs(delivery.deliveryCount);
      logger.warn(`seq ${msg.seq} (${parsed.data.id}): handler failed (${error instanceof Error ? error.message : String(error)}); redelivery in ${delayMs} ms`);
      msg.nak(delayMs);
      return "retried";
    }
  }
}

async function ensureConsumer(jsm: JetStreamManager, options: ConsumeOptions): Promise<void> {
  try {
    await jsm.consumers.info(appEventsStream, options.durable);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
  }
  await jsm.consumers.add(appEventsStream, {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    deliver_policy: DeliverPolicy.All,
    filter_subject: options.filterSubject ?? appEventsSubjects,
    // Never give up on a message: a failing handler is retried (with the nak delay) until it succeeds.
    max_deliver: -1,
  });
}

/** An example handler: what a service might do with each event. */
const printEvent: AppEventHandler = async (event, delivery) => {
  const prefix = `#${delivery.seq}${delivery.redelivered ? ` (delivery ${delivery.deliveryCount})` : ""}`;
  switch (event.name) {
    case "app/user.created":
    case "app/user.updated":
      console.log(`${prefix} ${event.name} ${event.data.userId} <${event.data.user.email ?? "no email"}> at ${event.data.user.clerkUpdatedAt}`);
      break;
    case "app/user.deleted":
      console.log(`${prefix} ${event.name} ${event.data.userId}`);
      break;
    case "app/user.signed_in":
      console.log(`${prefix} ${event.name} ${event.data.userId} from ${event.data.clientIp ?? "unknown IP"}`);
      break;
    case "app/user.signed_out":
      console.log(`${prefix} ${event.name} ${event.data.userId} (${event.data.reason})`);
      break;
  }
};

async function main(): Promise<void> {
  const url = process.env.NATS_URL;
  if (!url) {
    console.error("Set NATS_URL (e.g. NATS_URL=nats://127.0.0.1:4222 npx tsx examples/nats-subscriber.ts)");
    process.exitCode = 2;
    return;
  }
  const durable = process.argv[2] ?? "example-subscriber";
  const target = parseNatsUrl(url);
  // A long-lived subscriber reconnects forever; the consumer resumes where it stopped.
  const connection = await connect({ ...connectionOptionsFor(target), name: `app events: ${durable}`, maxReconnectAttempts: -1 });
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  console.log(`consuming ${appEventsSubjects} from stream ${appEventsStream} on ${target.redacted} as "${durable}" (Ctrl-C stops)`);
  try {
    const stats = await consume({ connection, durable, handle: printEvent, signal: controller.signal });
    console.log("stopped:", stats);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
      console.error(`No stream ${appEventsStream} yet: it is created by the first app event the sync publishes.`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  } finally {
    await connection.drain();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
