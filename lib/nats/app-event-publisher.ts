import { jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { appEventHeaders, appEventSubjects, isAppEventName, type AppEventEnvelope } from "./app-event-subjects.js";
import { ensureAppEventsStream, resolveStreamLimits, type StreamLimits } from "./app-events-stream.js";
import { connectionOptionsFor, parseNatsUrl } from "./nats-url.js";

export interface PublishableAppEvent {
  id: string;
  name: string;
  data: Record<string, unknown>;
  /** Defaults to now. */
  ts?: number;
}

export interface PublishResult {
  /** The message's sequence in the stream (the original's, for a duplicate). */
  seq: number;
  /** True when JetStream already held a message with this id (within its duplicate window). */
  duplicate: boolean;
}

export interface AppEventPublisher {
  /** Rejects within a few seconds when the broker is unreachable, so the caller's retry takes over. */
  publish(event: PublishableAppEvent): Promise<PublishResult>;
  close(): Promise<void>;
}

export interface AppEventPublisherOptions {
  /** One or more comma-separated `nats://` / `tls://` URLs; credentials may be in the URL. */
  url: string;
  stream?: Partial<StreamLimits>;
  /** Cap on connecting and on each JetStream request (PubAck included). Default 2,000 ms. */
  timeoutMs?: number;
  logger: Logger;
}

/** The broker could not take the event now (down, slow, or refusing): retry later. */
export class AppEventPublishError extends Error {
  override readonly name = "AppEventPublishError";
}

/** The event has no subject: retrying cannot help. */
export class UnpublishableAppEventError extends Error {
  override readonly name = "UnpublishableAppEventError";
}

interface Session {
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
}

const defaultTimeoutMs = 2_000;

/**
 * Publishes app events to the JetStream stream `USERS`, once each: the message id is the
 * app event id, so a republication within the duplicate window is dropped by the server.
 *
 * One connection per publisher, opened on first use. It never reconnects in the
 * background (`reconnect: false`): a client that buffers publishes while reconnecting
 * could deliver one long after its caller gave up and retried. When the connection
 * fails, the publish in flight rejects, the connection is dropped, and the next publish
 * opens a new one (failing within `timeoutMs` while the broker is still down).
 */
export function createAppEventPublisher(options: AppEventPublisherOptions): AppEventPublisher {
  const target = parseNatsUrl(options.url);
  const limits = resolveStreamLimits(options.stream);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100) throw new TypeError(`timeoutMs must be an integer of at least 100, got ${String(timeoutMs)}`);
  const logger = options.logger.child({ component: "nats-publisher", servers: target.redacted });

  let session: Promise<Session> | undefined;
  /** Resolved once the stream is known to exist on the current connection. */
  let streamReady: Promise<unknown> | undefined;
  let closed = false;

  function currentSession(): Promise<Session> {
    if (session) return session;
    const opening = openSession();
    session = opening;
    opening.catch(() => {
      if (session === opening) session = undefined;
    });
    return opening;
  }

  async function openSession(): Promise<Session> {
    const nc = await connect({
      ...connectionOptionsFor(target),
      name: "clerk-mongo-sync app event publisher",
      timeout: timeoutMs,
      reconnect: false,
    });
    void nc.closed().then((error) => {
      if (session && !closed) logger.warn({ reason: error?.message ?? "closed" }, "NATS connection closed; the next publish reconnects");
      forget(nc);
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      logger.info("connected to NATS JetStream");
      return { nc, jsm, js: jsm.jetstream() };
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** Drops the cached connection if it is still `nc`'s (a newer one stays). */
  function forget(nc: NatsConnection): void {
    const current = session;
    if (!current) return;
    void current.then(
      (open) => {
        if (open.nc === nc && session === current) {
          session = undefined;
          streamReady = undefined;
        }
      },
      () => undefined,
    );
  }

  async function publish(event: PublishableAppEvent): Promise<PublishResult> {
    if (closed) throw new AppEventPublishError("the app event publisher is closed");
    if (!isAppEventName(event.name)) throw new UnpublishableAppEventError(`no NATS subject for event ${event.name}`);
    if (!event.id) throw new UnpublishableAppEventError(`event ${event.name} has no id: it cannot be published exactly once`);
    const subject = appEventSubjects[event.name];
    const envelope: AppEventEnvelope = {
      id: event.id,
      name: event.name,
      v: typeof event.data.v === "number" ? event.data.v : 1,
      data: event.data,
      ts: event.ts ?? Date.now(),
    };
    const messageHeaders = headers();
    messageHeaders.set(appEventHeaders.correlationId, correlationIdOf(event));
    messageHeaders.set(appEventHeaders.contentType, "application/json");

    let used: Session | undefined;
    try {
      used = await currentSession();
      const { jsm, js } = used;
      streamReady ??= ensureAppEventsStream(jsm, limits, logger);
      await streamReady;
      const ack = await js.publish(subject, JSON.stringify(envelope), {
        msgID: event.id,
        headers: messageHeaders,
        timeout: timeoutMs,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      // Start clean next time: a timed-out connection may be half-open, the stream may be gone.
      streamReady = undefined;
      if (used) {
        forget(used.nc);
        void used.nc.close().catch(() => undefined);
      }
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new AppEventPublishError(`publishing ${event.id} to ${subject} failed (${reason})`, { cause: error });
    }
  }

  return {
    publish,
    async close() {
      closed = true;
      const pending = session;
      session = undefined;
      streamReady = undefined;
      if (!pending) return;
      const open = await pending.catch(() => undefined);
      await open?.nc.close().catch(() => undefined);
    },
  };
}

/** What caused the event (Svix id, request id, run id), else the event itself. */
function correlationIdOf(event: PublishableAppEvent): string {
  const source = event.data.sourceEventId;
  return typeof source === "string" && source.length > 0 ? source : event.id;
}
