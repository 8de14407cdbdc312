import type { IncomingMessage, ServerResponse } from "node:http";
import { waitUntil } from "@vercel/functions";
import { lazyHandler } from "../../lib/http/lazy-handler.js";
import { sendProblem } from "../../lib/http/problem.js";
import { readRawBody } from "../../lib/http/read-raw-body.js";
import { sendJson } from "../../lib/http/send-json.js";
import type { Logger } from "../../lib/logger.js";
import type { Heartbeats } from "../../lib/ops/heartbeats.js";
import { formatIssues } from "../../lib/validation/format-issues.js";
import { clerkEventDataSchema } from "../../lib/webhooks/clerk-event-schemas.js";
import type { WebhookVerification } from "../../lib/webhooks/verify-clerk-webhook.js";

export interface ClerkWebhookDeps {
  verify: (rawBody: Buffer, headers: IncomingMessage["headers"]) => WebhookVerification;
  /** Hands a `clerk/*` event to Inngest; rejects if Inngest did not take it. */
  sendEvent: (event: { name: string; id: string; ts: number; data: Record<string, unknown> }) => Promise<unknown>;
  maxBodyBytes: number;
  /** How long the body may take to arrive (BODY_READ_TIMEOUT_MS); then 408. Default 10 s. */
  bodyReadTimeoutMs?: number;
  /** Told after each delivery handed to Inngest (the freshness heartbeat); must not throw or delay the answer. */
  onForwarded?: (at: Date) => void;
  logger: Logger;
}

/**
 * Clerk → (Svix) → here → Inngest. Verifies the delivery on its raw bytes, then
 * forwards it as `clerk/<type>` with the Svix id as the event id, so Inngest drops
 * Svix's redeliveries. It answers 2xx only once Inngest holds the event: anything
 * else makes Svix retry, and a delivery is never acknowledged and lost.
 */
export function createClerkWebhookHandler(deps: ClerkWebhookDeps) {
  return async function handleClerkWebhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST") {
      sendProblem(res, "methodNotAllowed", { detail: "Webhooks are delivered with POST.", headers: { allow: "POST" } });
      return;
    }
    const raw = await readRawBody(req, deps.maxBodyBytes, { timeoutMs: deps.bodyReadTimeoutMs });
    if (raw.kind === "too-large") {
      sendProblem(res, "payloadTooLarge", { detail: `The body exceeds ${raw.limit} bytes.`, headers: { connection: "close" } });
      return;
    }
    if (raw.kind === "timeout") {
      deps.logger.warn({ svixId: req.headers["svix-id"], timeoutMs: raw.timeoutMs }, "webhook rejected: the body did not arrive in time");
      sendProblem(res, "requestTimeout", { detail: `The body did not arrive within ${raw.timeoutMs} ms.`, headers: { connection: "close" } });
      return;
    }

    const verification = deps.verify(raw.body, req.headers);
    if (verification.kind !== "verified") {
      deps.logger.warn({ svixId: req.headers["svix-id"], reason: verification.kind }, "webhook rejected");
      rejectUnverified(res, verification);
      return;
    }

    const { svixId, type, timestamp, httpRequest } = verification.delivery;
    const log = deps.logger.child({ svixId, type });
    const handled = clerkEventDataSchema(type);
    if (!handled) {
      log.info("webhook acknowledged and ignored: event type not handled");
      sendJson(res, 200, { status: "ignored", type });
      return;
    }
    // Session activity needs the client's IP and user agent, which Clerk puts in the envelope.
    const data = handled.withHttpRequest ? { ...verification.delivery.data, http_request: httpRequest } : verification.delivery.data;
    const parsed = handled.schema.safeParse(data);
    if (!parsed.success) {
      const errors = formatIssues(parsed.error.issues);
      log.warn({ errors }, "webhook rejected: payload failed validation");
      sendProblem(res, "invalidPayload", { detail: `The ${type} payload is not usable.`, extensions: { errors } });
      return;
    }

    try {
      await deps.sendEvent({ name: `clerk/${type}`, id: svixId, ts: timestamp, data });
    } catch (error) {
      log.error({ err: error }, "Inngest did not take the event; Svix will redeliver");
      sendProblem(res, "eventBusUnavailable", { headers: { "retry-after": "5" } });
      return;
    }
    log.info({ objectId: (parsed.data as { id?: unknown }).id }, "webhook forwarded to Inngest");
    deps.onForwarded?.(new Date());
    sendJson(res, 200, { status: "accepted", eventId: svixId });
  };
}

function rejectUnverified(res: ServerResponse, verification: Exclude<WebhookVerification, { kind: "verified" }>): void {
  switch (verification.kind) {
    case "missing-headers":
      return sendProblem(res, "webhookMissingHeaders", { detail: `Missing: ${verification.missing.join(", ")}.` });
    case "stale-timestamp":
      return sendProblem(res, "webhookStaleTimestamp", { detail: "svix-timestamp must be within 5 minutes of now." });
    case "invalid-signature":
      return sendProblem(res, "webhookInvalidSignature", { detail: "No signature matches this body." });
    case "malformed-json":
      return sendProblem(res, "malformedJson");
    case "invalid-envelope":
      return sendProblem(res, "invalidPayload", {
        detail: "Not a Clerk webhook envelope.",
        extensions: { errors: verification.issues },
      });
  }
}

// The SDKs (svix, inngest, pino) load with the first delivery, not with the module: cold starts.
export default lazyHandler(async () => {
  const [{ getConfig }, { createLogger }, { createInngestClient }, { createClerkWebhookVerifier }, { withDeadline }] = await Promise.all([
    import("../../lib/config.js"),
    import("../../lib/logger.js"),
    import("../../inngest/client.js"),
    import("../../lib/webhooks/verify-clerk-webhook.js"),
    import("../../lib/with-deadline.js"),
  ]);
  const config = getConfig();
  const logger = createLogger(config.logLevel).child({ route: "webhooks/clerk" });
  const inngest = createInngestClient(config.inngest, logger);
  // The freshness heartbeat (GET /api/admin/status): after the answer, at most every 30 s per instance.
  let heartbeats: Promise<Heartbeats> | undefined;
  const onForwarded = (at: Date) => {
    heartbeats ??= Promise.all([import("../../lib/db/connection.js"), import("../../lib/ops/heartbeats.js")]).then(async ([{ connectMongo }, { createHeartbeats }]) =>
      createHeartbeats(await connectMongo(config.mongo)),
    );
    const beat = heartbeats.then((recorder) => recorder.beat("webhook-verified", at));
    waitUntil(beat.catch((error: unknown) => {
      heartbeats = undefined;
      logger.warn({ err: error }, "webhook heartbeat not recorded");
    }));
  };
  return createClerkWebhookHandler({
    onForwarded,
    verify: createClerkWebhookVerifier(config.webhook.signingSecret),
    sendEvent: (event) => withDeadline(inngest.send(event), config.inngest.sendTimeoutMs, "sending to Inngest"),
    maxBodyBytes: config.webhook.maxBodyBytes,
    bodyReadTimeoutMs: config.webhook.bodyReadTimeoutMs,
    logger,
  });
});
