import type { IncomingMessage, ServerResponse } from "node:http";
import { sendProblem } from "../http/problem.js";
import { readRawBody } from "../http/read-raw-body.js";
import { sendJson } from "../http/send-json.js";
import type { Logger } from "../logger.js";
import { type ClerkInngestEvent, clerkDeliveryDecision } from "./clerk-delivery-event.js";
import { describeInstanceRefusal } from "./clerk-instance.js";
import type { WebhookVerification } from "./verify-clerk-webhook.js";

export interface ClerkWebhookDeps {
  verify: (rawBody: Buffer, headers: IncomingMessage["headers"]) => WebhookVerification;
  /** Hands a `clerk/*` event to Inngest; rejects if Inngest did not take it. */
  sendEvent: (event: ClerkInngestEvent) => Promise<unknown>;
  maxBodyBytes: number;
  /** CLERK_INSTANCE_ID: deliveries from any other Clerk instance are refused. Unset: any instance. */
  expectedInstanceId?: string;
  /** How long the body may take to arrive (BODY_READ_TIMEOUT_MS); then 408. Default 10 s. */
  bodyReadTimeoutMs?: number;
  /** Told after each delivery handed to Inngest (the freshness heartbeat); must not throw or delay the answer. */
  onForwarded?: (at: Date) => void;
  logger: Logger;
}

/**
 * Clerk → (Svix) → here → Inngest. Reads the raw bytes (capped, time-limited), verifies
 * them, decides what the delivery is (lib/webhooks/clerk-delivery-event.ts) and forwards it
 * as `clerk/<type>` with the Svix id as the event id, so Inngest drops Svix's redeliveries, and
 * the envelope's `instance_id` in `data`; a delivery from another Clerk instance than
 * CLERK_INSTANCE_ID is refused (403, `webhook-delivery: abort-message`), never forwarded.
 * It answers 2xx only once Inngest holds the event: anything else makes Svix retry, and a
 * delivery is never acknowledged and lost. It never touches MongoDB.
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

    const { svixId, type } = verification.delivery;
    const log = deps.logger.child({ svixId, type });
    const decision = clerkDeliveryDecision(verification.delivery, deps.expectedInstanceId);
    if (decision.kind === "wrong-instance") {
      // A misconfiguration (this endpoint's secret, or CLERK_INSTANCE_ID): an operator must act,
      // and Svix's eight retries would only repeat it, so it is said once, and retries are aborted.
      // The message stays "failed" in Clerk's dashboard, to be replayed once the configuration is fixed.
      const { check } = decision;
      log.error(
        { instanceId: check.kind === "other-instance" ? check.instanceId : null, expectedInstanceId: check.expectedInstanceId },
        `webhook refused: ${describeInstanceRefusal(check)}`,
      );
      sendProblem(res, "webhookWrongInstance", {
        detail: check.kind === "other-instance" ? `Events from Clerk instance ${check.instanceId} are not accepted here.` : "The envelope names no Clerk instance (instance_id).",
        headers: { "webhook-delivery": "abort-message" },
      });
      return;
    }
    if (decision.kind === "ignored") {
      log.info("webhook acknowledged and ignored: event type not handled");
      sendJson(res, 200, { status: "ignored", type });
      return;
    }
    if (decision.kind === "invalid") {
      log.warn({ errors: decision.errors }, "webhook rejected: payload failed validation");
      sendProblem(res, "invalidPayload", { detail: `The ${type} payload is not usable.`, extensions: { errors: decision.errors } });
      return;
    }

    try {
      await deps.sendEvent(decision.event);
    } catch (error) {
      log.error({ err: error }, "Inngest did not take the event; Svix will redeliver");
      sendProblem(res, "eventBusUnavailable", { headers: { "retry-after": "5" } });
      return;
    }
    log.info({ objectId: decision.objectId }, "webhook forwarded to Inngest");
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
