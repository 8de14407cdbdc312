import type { ServerResponse } from "node:http";

/**
 * Every error the HTTP API returns is RFC 9457 problem+json with a stable `type`,
 * listed here and documented in docs/problems.md. Clients branch on `type`, never
 * on `title` or `detail`.
 */
export const problemTypes = {
  methodNotAllowed: { type: "/problems/method-not-allowed", title: "Method not allowed", status: 405 },
  payloadTooLarge: { type: "/problems/payload-too-large", title: "Payload too large", status: 413 },
  requestTimeout: { type: "/problems/request-timeout", title: "The request body did not arrive in time", status: 408 },
  webhookMissingHeaders: {
    type: "/problems/webhook-missing-headers",
    title: "Missing Svix signature headers",
    status: 400,
  },
  webhookStaleTimestamp: {
    type: "/problems/webhook-stale-timestamp",
    title: "Webhook timestamp outside the tolerance window",
    status: 401,
  },
  webhookInvalidSignature: {
    type: "/problems/webhook-invalid-signature",
    title: "Webhook signature verification failed",
    status: 401,
  },
  webhookWrongInstance: {
    type: "/problems/webhook-wrong-instance",
    title: "Webhook sent by another Clerk instance than the one configured",
    status: 403,
  },
  malformedJson: { type: "/problems/malformed-json", title: "Request body is not valid JSON", status: 400 },
  invalidPayload: { type: "/problems/invalid-payload", title: "Payload failed validation", status: 400 },
  eventBusUnavailable: {
    type: "/problems/event-bus-unavailable",
    title: "The event could not be handed to Inngest; retry later",
    status: 503,
  },
  unsupportedMediaType: {
    type: "/problems/unsupported-media-type",
    title: "Content-Type must be application/json (UTF-8)",
    status: 415,
  },
  invalidQuery: { type: "/problems/invalid-query", title: "Query parameters failed validation", status: 400 },
  invalidPathParameter: { type: "/problems/invalid-path-parameter", title: "A path parameter is not valid", status: 400 },
  unauthenticated: {
    type: "/problems/unauthenticated",
    title: "A valid Clerk session token is required",
    status: 401,
  },
  accountSuspended: {
    type: "/problems/account-suspended",
    title: "This account is banned or locked",
    status: 403,
  },
  forbidden: { type: "/problems/forbidden", title: "Not allowed for this account", status: 403 },
  originNotAllowed: {
    type: "/problems/origin-not-allowed",
    title: "Requests from this browser origin are not allowed",
    status: 403,
  },
  authenticationUnavailable: {
    type: "/problems/authentication-unavailable",
    title: "The session token could not be checked; retry later",
    status: 503,
  },
  notFound: { type: "/problems/not-found", title: "Not found", status: 404 },
  userDeleted: { type: "/problems/user-deleted", title: "This account has been deleted", status: 410 },
  rateLimited: { type: "/problems/rate-limited", title: "Too many requests", status: 429 },
  clerkUnavailable: {
    type: "/problems/clerk-unavailable",
    title: "Clerk's Backend API did not answer; retry later",
    status: 502,
  },
  serviceUnavailable: {
    type: "/problems/service-unavailable",
    title: "A dependency (the database) is unavailable; retry later",
    status: 503,
  },
  internal: { type: "/problems/internal", title: "Internal server error", status: 500 },
} as const satisfies Record<string, { type: string; title: string; status: number }>;

export type ProblemKey = keyof typeof problemTypes;

export interface ProblemDetails {
  detail?: string;
  /** Extra members (RFC 9457 extensions), e.g. validation `errors`. Never secrets. */
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export function sendProblem(res: ServerResponse, key: ProblemKey, details: ProblemDetails = {}): void {
  const { type, title, status } = problemTypes[key];
  const body = JSON.stringify({ type, title, status, detail: details.detail, ...details.extensions });
  res.writeHead(status, {
    "content-type": "application/problem+json",
    "cache-control": "no-store",
    ...details.headers,
  });
  res.end(body);
}

/** Thrown by route code for an expected failure; the route pipeline answers it as problem+json. */
export class ProblemError extends Error {
  override readonly name = "ProblemError";
  constructor(
    readonly key: ProblemKey,
    readonly details: ProblemDetails = {},
  ) {
    super(details.detail ?? problemTypes[key].title);
  }
}
