import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { waitUntil } from "@vercel/functions";
import { ClerkUnavailableError } from "../clerk/clerk-users-api.js";
import { EventBusUnavailableError } from "../events/event-bus-unavailable-error.js";
import type { TokenOrganization } from "../auth/authenticate-request.js";
import type { Logger } from "../logger.js";
import { setRateLimitHeaders } from "../rate-limit/rate-limit-headers.js";
import type { Services } from "../services.js";
import type { UserDocument } from "../users/user-model.js";
import { decideCors } from "./cors.js";
import { ProblemError, sendProblem } from "./problem.js";
import type { RequestGate } from "./request-gate.js";

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
  /** What the session token says about the active organization, and when it was issued. */
  token: { organization: TokenOrganization | null; issuedAt: Date };
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
function isAdmin(claims: Record<string, unknown>, user: UserDocument): boolean {
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

/**
 * JSON, or a string as is with the route's own content type (Prometheus' text format).
 * Node's server sends no body in answer to HEAD, so GET's answer serves HEAD as is.
 */
function send(res: ServerResponse, result: RouteResult): void {
  res.writeHead(result.status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...result.headers });
  if (typeof result.body === "string") res.end(result.body);
  else res.end(result.body === undefined ? undefined : JSON.stringify(result.body));
}

/** What a route needs, each built on first use (lib/get-services.ts in production). */
export interface RouteDependencies {
  /** CORS, authentication and rate limits: no database, no network with `CLERK_JWT_KEY`. */
  gate: () => Promise<RequestGate>;
  /** MongoDB, Clerk's Backend API, Inngest: only ever built for an authenticated caller. */
  services: () => Promise<Services>;
}

type Caller = Pick<RouteContext, "userId" | "user" | "claims" | "services" | "token">;

/**
 * Who is calling, and may they, cheapest check first: Clerk's token check (networkless),
 * the rate limits (anonymous callers are counted in memory per IP, so bad tokens cannot be
 * tried without limit and cost no Redis round trip), then, for a signed-in caller only,
 * MongoDB: their user (fetched from Clerk just in time), suspension and role checks.
 */
async function admit(gate: RequestGate, services: () => Promise<Services>, route: Route, req: IncomingMessage, res: ServerResponse, log: () => Logger): Promise<Caller> {
  const auth = await gate.authenticate(req);
  if (auth.kind === "unavailable") {
    log().error({ reason: auth.reason }, "Clerk could not check the session token");
    throw new ProblemError("authenticationUnavailable", { headers: { "retry-after": "5" } });
  }
  const ip = clientIp(req);
  const limiter = auth.kind === "signed-in" ? gate.limiter() : gate.anonymousLimiter;
  const limit = await limiter.consume({ ip, userId: auth.kind === "signed-in" ? auth.userId : null });
  setRateLimitHeaders(res, limit);
  if (!limit.allowed) throw new ProblemError("rateLimited", { detail: `Limit reached for this ${limit.blockedBy ?? "client"}.` });
  if (auth.kind !== "signed-in") throw new ProblemError("unauthenticated", { headers: { "www-authenticate": 'Bearer realm="api"' } });

  const deps = await servicesOrUnavailable(services, log);
  const resolved = await deps.resolver.resolve(auth.userId);
  if (resolved.kind === "deleted") throw new ProblemError("userDeleted");
  if (resolved.kind === "unknown") throw new ProblemError("notFound", { detail: "Clerk has no such user." });
  const { user } = resolved;
  if (user.banned || user.locked) throw new ProblemError("accountSuspended");
  if (route.access === "admin" && !isAdmin(auth.claims, user)) throw new ProblemError("forbidden", { detail: "This endpoint is for admins." });
  return { userId: auth.userId, user, claims: auth.claims, services: deps, token: { organization: auth.organization, issuedAt: auth.issuedAt } };
}

async function servicesOrUnavailable(services: () => Promise<Services>, log: () => Logger): Promise<Services> {
  try {
    return await services();
  } catch (error) {
    log().error({ err: error }, "API unavailable: dependencies failed to start");
    throw new ProblemError("serviceUnavailable", { headers: { "retry-after": "5" } });
  }
}

/**
 * The pipeline every API route runs: request id, CORS (a disallowed origin is refused before
 * anything runs; preflights are answered here), method check (HEAD runs GET without the
 * body), then `admit` and the handler. Errors become problem+json, with the CORS headers
 * so a browser app can read them; unexpected ones are logged and answered 500 without
 * details.
 */
export function serveRoute(route: Route, deps: RouteDependencies) {
  const methods = Object.keys(route.methods) as Method[];
  const allowedMethods = [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"];
  const allowed = allowedMethods.join(", ");
  // Once built, the gate is used as is: no promise to await on every request.
  let readyGate: RequestGate | undefined;

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req);
    res.setHeader("x-request-id", requestId);
    let gate: RequestGate;
    try {
      gate = readyGate ??= await deps.gate();
    } catch (error) {
      console.error(`API misconfigured: ${error instanceof Error ? error.message : String(error)}`);
      sendProblem(res, "internal", { detail: "The service is misconfigured; see the server logs." });
      return;
    }
    // The request's logger is built when something is logged: a child logger costs tens of
    // microseconds (its bindings are serialised and redacted), and most requests log nothing.
    const bindings: { requestId: string; route: string; method: string | undefined; userId?: string } = { requestId, route: route.name, method: req.method };
    let requestLog: Logger | undefined;
    const log = (): Logger => (requestLog ??= gate.logger.child(bindings));

    const method = req.method ?? "GET";
    const cors = decideCors(gate.cors, { method, headers: req.headers }, allowedMethods);
    for (const name in cors.headers) res.setHeader(name, cors.headers[name]!);
    if (cors.kind === "refused") {
      log().warn({ origin: cors.origin }, "request from an origin not allowed");
      sendProblem(res, "originNotAllowed");
      return;
    }
    if (method === "OPTIONS") {
      res.writeHead(204, { allow: allowed, "cache-control": cors.kind === "preflight" ? "public, max-age=600" : "no-store" }).end();
      return;
    }
    const handler = route.methods[(method === "HEAD" ? "GET" : method) as Method];
    if (!handler) {
      sendProblem(res, "methodNotAllowed", { headers: { allow: allowed } });
      return;
    }

    try {
      const caller = await admit(gate, deps.services, route, req, res, log);
      // Not built yet (nothing logged so far): from now on it names the caller too.
      if (!requestLog) bindings.userId = caller.userId;
      else requestLog = requestLog.child({ userId: caller.userId });
      const seen = caller.services.lastSeen.record(caller.userId, caller.user.lastSeenAt);
      if (seen) waitUntil(seen.catch((error: unknown) => log().warn({ err: error }, "lastSeenAt not recorded")));
      const url = new URL(req.url ?? "/", "http://localhost");
      const context: RouteContext = {
        req,
        url,
        requestId,
        ...caller,
        // A getter, so that a handler that logs nothing never builds the logger.
        get log() {
          return log();
        },
      };
      send(res, await handler(context));
    } catch (error) {
      if (error instanceof ProblemError) {
        sendProblem(res, error.key, error.details);
        return;
      }
      if (error instanceof EventBusUnavailableError) {
        sendProblem(res, "eventBusUnavailable", { headers: { "retry-after": "5" } });
        return;
      }
      if (error instanceof ClerkUnavailableError) {
        log().error({ err: error }, "Clerk Backend API failed");
        sendProblem(res, "clerkUnavailable", { headers: { "retry-after": "2" } });
        return;
      }
      log().error({ err: error }, "unhandled error in route");
      if (!res.headersSent) sendProblem(res, "internal");
      else res.end();
    }
  };
}

/**
 * Several routes in one function, picked by the last path segment: `api/me/[resource].ts`
 * serves `/api/me/activity`, `/api/me/export`, ... as one Vercel function (Hobby deployments
 * may hold 12). Vercel passes the dynamic segment again as a query parameter
 * (`?resource=activity`); that copy is dropped here so the routes' strict query parsing does
 * not refuse it. An unknown segment is 404.
 */
export function serveRoutesBySegment(routes: Record<string, Route>, deps: RouteDependencies, segmentParameter: string) {
  const handlers = new Map(Object.entries(routes).map(([segment, route]) => [segment, serveRoute(route, deps)]));
  return async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const segment = url.pathname.split("/").filter(Boolean).at(-1) ?? "";
    const handler = handlers.get(segment);
    if (!handler) {
      sendProblem(res, "notFound", { detail: "No such endpoint." });
      return;
    }
    for (const value of url.searchParams.getAll(segmentParameter)) {
      if (value === segment) url.searchParams.delete(segmentParameter, value);
    }
    req.url = `${url.pathname}${url.search}`;
    await handler(req, res);
  };
}
