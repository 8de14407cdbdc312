import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { waitUntil } from "@vercel/functions";
import { ClerkUnavailableError } from "../clerk/clerk-users-api.js";
import type { Logger } from "../logger.js";
import { setRateLimitHeaders } from "../rate-limit/rate-limit-headers.js";
import type { Services } from "../services.js";
import type { UserDocument } from "../users/user-model.js";
import { ProblemError, sendProblem } from "./problem.js";

export interface RouteContext {
  req: IncomingMessage;
  url: URL;
  log: Logger;
  services: Services;
  requestId: string;
  userId: string;
  /** The caller's stored user: live, not banned, not locked. */
  user: UserDocument;
  claims: Record<string, unknown>;
}

export interface RouteResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/** An authenticated API route. (Health, OpenAPI and webhooks are plain handlers: no auth, no limits.) */
export interface Route {
  name: string;
  access: "user" | "admin";
  methods: Partial<Record<Method, (ctx: RouteContext) => Promise<RouteResult>>>;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): RouteResult => ({ status, body, headers });

/**
 * Who may call what: `admin` comes from the session token's `metadata.role` (a custom
 * session claim) or, failing that, from the user's Clerk public metadata as synced.
 */
export function isAdmin(claims: Record<string, unknown>, user: UserDocument): boolean {
  const claimRole = (claims.metadata as { role?: unknown } | undefined)?.role;
  const storedRole = (user.publicMetadata as { role?: unknown } | undefined)?.role;
  return claimRole === "admin" || storedRole === "admin";
}

/** The client address as Vercel's proxy reports it (the socket address elsewhere). */
function clientIp(req: IncomingMessage): string {
  const forwarded = req.headers["x-forwarded-for"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  const realIp = req.headers["x-real-ip"];
  return (typeof realIp === "string" && realIp) || first || req.socket.remoteAddress || "unknown";
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

function send(res: ServerResponse, result: RouteResult): void {
  res.writeHead(result.status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...result.headers });
  res.end(result.body === undefined ? undefined : JSON.stringify(result.body));
}

/**
 * Who is calling, and may they: Clerk authentication, per-IP and per-user rate limits
 * (counted before answering 401, so bad tokens cannot be tried without limit), the
 * caller's user (fetched from Clerk just in time), suspension and role checks.
 */
async function admit(deps: Services, route: Route, req: IncomingMessage, res: ServerResponse) {
  const auth = await deps.authenticate(req);
  const limit = await deps.rateLimiter.consume({ ip: clientIp(req), userId: auth.kind === "signed-in" ? auth.userId : null });
  setRateLimitHeaders(res, limit);
  if (!limit.allowed) throw new ProblemError("rateLimited", { detail: `Limit reached for this ${limit.blockedBy ?? "client"}.` });
  if (auth.kind !== "signed-in") throw new ProblemError("unauthenticated", { headers: { "www-authenticate": 'Bearer realm="api"' } });

  const resolved = await deps.resolver.resolve(auth.userId);
  if (resolved.kind === "deleted") throw new ProblemError("userDeleted");
  if (resolved.kind === "unknown") throw new ProblemError("notFound", { detail: "Clerk has no such user." });
  const { user } = resolved;
  if (user.banned || user.locked) throw new ProblemError("accountSuspended");
  if (route.access === "admin" && !isAdmin(auth.claims, user)) throw new ProblemError("forbidden", { detail: "This endpoint is for admins." });
  return { userId: auth.userId, user, claims: auth.claims };
}

/**
 * The pipeline every API route runs: request id, method check, Clerk authentication,
 * per-IP and per-user rate limiting, the caller's user (fetched from Clerk just in time),
 * suspension and role checks, then the handler. Errors become problem+json; unexpected
 * ones are logged and answered 500 without details.
 */
export function serveRoute(route: Route, services: () => Promise<Services>) {
  const allowed = Object.keys(route.methods).join(", ");

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req);
    res.setHeader("x-request-id", requestId);
    const handler = route.methods[(req.method ?? "GET") as Method];
    if (!handler) {
      sendProblem(res, "methodNotAllowed", { headers: { allow: allowed } });
      return;
    }
    let deps: Services;
    try {
      deps = await services();
    } catch (error) {
      console.error(`API unavailable, dependencies failed to start: ${error instanceof Error ? error.message : String(error)}`);
      sendProblem(res, "serviceUnavailable", { headers: { "retry-after": "5" } });
      return;
    }
    let log = deps.logger.child({ requestId, route: route.name, method: req.method });
    try {
      const caller = await admit(deps, route, req, res);
      log = log.child({ userId: caller.userId });
      const seen = deps.lastSeen.record(caller.userId, caller.user.lastSeenAt);
      if (seen) waitUntil(seen.catch((error: unknown) => log.warn({ err: error }, "lastSeenAt not recorded")));
      const url = new URL(req.url ?? "/", "http://localhost");
      send(res, await handler({ req, url, log, services: deps, requestId, ...caller }));
    } catch (error) {
      if (error instanceof ProblemError) {
        sendProblem(res, error.key, error.details);
        return;
      }
      if (error instanceof ClerkUnavailableError) {
        log.error({ err: error }, "Clerk Backend API failed");
        sendProblem(res, "clerkUnavailable", { headers: { "retry-after": "2" } });
        return;
      }
      log.error({ err: error }, "unhandled error in route");
      if (!res.headersSent) sendProblem(res, "internal");
      else res.end();
    }
  };
}
