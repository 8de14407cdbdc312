import type { IncomingHttpHeaders } from "node:http";
import { Webhook } from "svix";
import { z } from "zod";
import { formatIssues } from "../validation/format-issues.js";

/** Svix's own tolerance: a delivery signed more than 5 minutes away from now is refused. */
const toleranceSeconds = 5 * 60;

const envelopeSchema = z.object({
  type: z.string().min(1).max(128),
  object: z.literal("event").optional(),
  data: z.record(z.string(), z.unknown()),
  timestamp: z.number().int().positive().optional(),
  instance_id: z.string().optional(),
  event_attributes: z
    .object({
      http_request: z.object({ client_ip: z.string().nullable().optional(), user_agent: z.string().nullable().optional() }).optional(),
    })
    .optional(),
});

/** A delivery whose signature checked out, with what Clerk's `verifyWebhook` would drop. */
export interface VerifiedClerkDelivery {
  /** `svix-id`: stable across Svix's retries of one message. */
  svixId: string;
  type: string;
  data: Record<string, unknown>;
  /** The envelope `timestamp` (ms), else the signature timestamp. */
  timestamp: number;
  /** The envelope's `event_attributes.http_request` (client IP, user agent), when Clerk sent it. */
  httpRequest: { client_ip?: string | null; user_agent?: string | null } | undefined;
  /** The envelope's `instance_id`: the Clerk instance that sent it. */
  instanceId?: string | undefined;
}

export type WebhookVerification =
  | { kind: "verified"; delivery: VerifiedClerkDelivery }
  | { kind: "missing-headers"; missing: string[] }
  | { kind: "stale-timestamp" }
  | { kind: "invalid-signature" }
  | { kind: "malformed-json" }
  | { kind: "invalid-envelope"; issues: string[] };

const signatureHeaders = ["svix-id", "svix-timestamp", "svix-signature"] as const;

/**
 * Verifies a Clerk (Svix) webhook on its raw bytes. Several `v1,` signatures in one
 * header (secret rotation) are accepted if any matches. Nothing is parsed before
 * the signature is checked.
 */
export function createClerkWebhookVerifier(signingSecret: string) {
  const webhook = new Webhook(signingSecret);

  return function verifyClerkWebhook(rawBody: Buffer, headers: IncomingHttpHeaders, now = Date.now()): WebhookVerification {
    const values = signatureHeaders.map((name) => {
      const value = headers[name];
      return typeof value === "string" && value.trim() !== "" ? value : undefined;
    });
    const missing = signatureHeaders.filter((_, index) => values[index] === undefined);
    const [svixId, svixTimestamp, svixSignature] = values;
    if (!svixId || !svixTimestamp || !svixSignature) return { kind: "missing-headers", missing };

    const signedAt = Number(svixTimestamp);
    if (!/^\d+$/.test(svixTimestamp) || Math.abs(now / 1000 - signedAt) > toleranceSeconds) {
      return { kind: "stale-timestamp" };
    }

    let payload: unknown;
    try {
      payload = webhook.verify(rawBody.toString("utf8"), {
        "svix-id": svixId,
        "svix-timestamp": svixTimestamp,
        "svix-signature": svixSignature,
      });
    } catch (error) {
      // The signature is checked before the body is parsed: a SyntaxError means the
      // bytes were signed by Clerk but are not JSON.
      return error instanceof SyntaxError ? { kind: "malformed-json" } : { kind: "invalid-signature" };
    }

    const envelope = envelopeSchema.safeParse(payload);
    if (!envelope.success) {
      return { kind: "invalid-envelope", issues: formatIssues(envelope.error.issues) };
    }
    const { type, data, timestamp, event_attributes, instance_id } = envelope.data;
    return {
      kind: "verified",
      delivery: { svixId, type, data, timestamp: timestamp ?? signedAt * 1000, httpRequest: event_attributes?.http_request, instanceId: instance_id },
    };
  };
}
