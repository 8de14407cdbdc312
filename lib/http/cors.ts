import type { IncomingHttpHeaders } from "node:http";

/**
 * CORS for the user API, as a pure decision over the request's headers: which response
 * headers to add, and whether the request may run at all.
 *
 * - No `Origin` header (curl, server to server, same-origin GET): not a CORS request; runs.
 * - The API's own origin (a same-origin deployment, where Clerk's `__session` cookie is
 *   sent): runs, with no CORS headers needed.
 * - An allowed frontend origin: runs, and the response names exactly that origin (never
 *   `*`); a preflight is answered 204 with the route's methods and headers.
 * - Any other origin: refused before anything runs, with no CORS headers, so the
 *   browser blocks the page from reading even the refusal.
 */

export interface CorsPolicy {
  allowedOrigins: ReadonlySet<string>;
  /** How long a browser may cache a preflight, in seconds. */
  maxAgeSeconds: number;
}

export type CorsDecision =
  | { kind: "not-cors"; headers: Record<string, string> }
  | { kind: "refused"; origin: string; headers: Record<string, string> }
  | { kind: "preflight"; headers: Record<string, string> }
  | { kind: "allowed"; headers: Record<string, string> };

/** Response headers a browser app reads (rate limits, retries, request ids, the export's file name). */
const exposedHeaders = [
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "Retry-After",
  "WWW-Authenticate",
  "X-Request-Id",
  "Content-Disposition",
];

const alwaysAllowedRequestHeaders = ["authorization", "content-type", "x-request-id"];

export function createCorsPolicy(allowedOrigins: readonly string[], maxAgeSeconds = 600): CorsPolicy {
  return { allowedOrigins: new Set(allowedOrigins.map((origin) => new URL(origin).origin)), maxAgeSeconds };
}

export function decideCors(policy: CorsPolicy, request: { method: string; headers: IncomingHttpHeaders }, methods: readonly string[]): CorsDecision {
  // Whatever the origin, caches must key responses on it.
  const vary = { vary: "Origin" };
  const origin = single(request.headers.origin);
  const isPreflight = request.method === "OPTIONS" && single(request.headers["access-control-request-method"]) !== undefined;
  if (origin === undefined || isSameOrigin(origin, request.headers)) {
    return { kind: "not-cors", headers: vary };
  }
  if (!policy.allowedOrigins.has(origin)) return { kind: "refused", origin, headers: vary };

  const allowOrigin = { ...vary, "access-control-allow-origin": origin };
  if (!isPreflight) return { kind: "allowed", headers: { ...allowOrigin, "access-control-expose-headers": exposedHeaders.join(", ") } };

  const requested = (single(request.headers["access-control-request-headers"]) ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => /^[!#$%&'*+.^`|~\w-]+$/.test(name));
  return {
    kind: "preflight",
    headers: {
      ...allowOrigin,
      vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      "access-control-allow-methods": methods.join(", "),
      "access-control-allow-headers": [...new Set([...alwaysAllowedRequestHeaders, ...requested])].join(", "),
      "access-control-max-age": String(policy.maxAgeSeconds),
    },
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `Origin` names the host the request was sent to: the browser app is served by this deployment. */
function isSameOrigin(origin: string, headers: IncomingHttpHeaders): boolean {
  const host = headers.host;
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
