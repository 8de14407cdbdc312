import type { IncomingMessage } from "node:http";
import type { ClerkConfig } from "../config.js";

/** The session's active organization as the token states it (Clerk's v2 `o` claim or v1 `org_*` claims, read by Clerk's SDK). */
export interface TokenOrganization {
  id: string;
  slug: string | null;
  role: string;
  permissions: string[];
}

export type AuthResult =
  | {
      kind: "signed-in";
      userId: string;
      sessionId: string | null;
      claims: Record<string, unknown>;
      /** The active organization, when the session has one. */
      organization: TokenOrganization | null;
      /** When the token was issued: what it says about the organization was true then. */
      issuedAt: Date;
    }
  | { kind: "signed-out"; reason: string }
  /** Clerk could not judge the token (its keys could not be loaded, an unexpected error): not the caller's fault. */
  | { kind: "unavailable"; reason: string };

/** Clerk's signed-out reasons that say nothing about the token, only that the check itself failed. */
const checkFailedReasons = new Set([
  "unexpected-error",
  "jwk-remote-failed-to-load",
  "jwk-remote-invalid",
  "jwk-failed-to-resolve",
  "jwk-local-missing",
  "secret-key-invalid",
]);

export type AuthenticateRequest = (req: IncomingMessage) => Promise<AuthResult>;

/**
 * Authenticates a request with Clerk's own `authenticateRequest` (what `clerkMiddleware`
 * runs inside), verifying the session token networkless when `jwtKey` is configured, with
 * a small clock skew, and checking `azp` against the frontend origins.
 *
 * Only Clerk's verdict on the token becomes "signed out": a token that is missing, expired,
 * badly signed or for another party. Clerk may ask a browser for a handshake (a stale
 * cookie on a navigation); an API never redirects, so that too is signed out and answered
 * 401. A check that failed for another reason (keys not loaded, an unexpected error) is
 * "unavailable", and anything Clerk throws propagates: the route answers 5xx and logs it,
 * instead of telling a signed-in user they are signed out.
 *
 * `@clerk/backend` is imported here, on the first request, not when an `api/` function loads.
 */
export async function createRequestAuthenticator(config: ClerkConfig): Promise<AuthenticateRequest> {
  const { createClerkClient } = await import("@clerk/backend");
  const clerk = createClerkClient({
    secretKey: config.secretKey,
    publishableKey: config.publishableKey,
    jwtKey: config.jwtKey,
    apiUrl: config.apiUrl,
    // A server makes no calls it does not need (and prints no telemetry notice).
    telemetry: { disabled: true },
  });
  const options = {
    jwtKey: config.jwtKey,
    authorizedParties: config.authorizedParties.length > 0 ? config.authorizedParties : undefined,
    clockSkewInMs: config.clockSkewMs,
    acceptsToken: "session_token" as const,
  };

  const verified = createVerifiedTokenCache(config.clockSkewMs, config.authorizedParties);

  return async (req) => {
    const bearer = bearerToken(req);
    const cached = bearer && verified.get(bearer);
    if (cached) return cached;
    const state = await clerk.authenticateRequest(toFetchRequest(req), options);
    if (state.status !== "signed-in") {
      const reason: string = state.reason;
      return checkFailedReasons.has(reason) ? { kind: "unavailable", reason } : { kind: "signed-out", reason };
    }
    const auth = state.toAuth();
    const claims = auth.sessionClaims as Record<string, unknown>;
    const result: AuthResult = {
      kind: "signed-in",
      userId: auth.userId,
      sessionId: auth.sessionId ?? null,
      claims,
      organization: auth.orgId && auth.orgRole ? { id: auth.orgId, slug: auth.orgSlug ?? null, role: auth.orgRole, permissions: auth.orgPermissions ?? [] } : null,
      issuedAt: new Date((typeof claims.iat === "number" ? claims.iat : 0) * 1_000),
    };
    if (bearer && typeof claims.exp === "number") verified.set(bearer, result, claims.exp * 1_000, claims.azp);
    return result;
  };
}

/** The most verified tokens kept: Clerk's session tokens live a minute, so this covers 10k active sessions. */
const maxCachedTokens = 10_000;

/**
 * Session tokens Clerk has verified, until they expire. A browser sends the same token with
 * every request for about a minute; checking its RS256 signature and claims again each time is
 * most of an authenticated request's CPU. Checked again on every request, as Clerk checks
 * them: the expiry (with the configured clock skew: expired once `exp <= now - skew`) and the
 * authorized party (`azp` one of the configured frontends, when any is configured). The
 * signature cannot change for the same token string. A token that fails either check is
 * dropped and goes back to Clerk, whose verdict (and reason) the caller gets. Bounded: the
 * oldest entries go first.
 */
function createVerifiedTokenCache(clockSkewMs: number, authorizedParties: readonly string[]) {
  const entries = new Map<string, { result: AuthResult; expiresAtMs: number; azp: unknown }>();
  const parties = new Set(authorizedParties);
  return {
    get(token: string): AuthResult | undefined {
      const entry = entries.get(token);
      if (!entry) return undefined;
      const authorized = parties.size === 0 || (typeof entry.azp === "string" && parties.has(entry.azp));
      if (!authorized || entry.expiresAtMs <= Date.now() - clockSkewMs) {
        entries.delete(token);
        return undefined;
      }
      return entry.result;
    },
    set(token: string, result: AuthResult, expiresAtMs: number, azp: unknown): void {
      if (entries.size >= maxCachedTokens) entries.delete(entries.keys().next().value as string);
      entries.set(token, { result, expiresAtMs, azp });
    },
  };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  return (authorization && /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1]) || undefined;
}

/**
 * The Fetch `Request` Clerk reads: the same headers, with the authorization scheme
 * normalised, since RFC 9110 makes it case-insensitive and Clerk only reads `Bearer `.
 */
function toFetchRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(":")) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const authorization = headers.get("authorization");
  const bearer = authorization && /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (bearer) headers.set("authorization", `Bearer ${bearer[1]}`);
  // Clerk reads headers only; the method and body do not matter to it.
  return new Request(requestUrl(req), { headers });
}

function requestUrl(req: IncomingMessage): URL {
  const path = req.url?.startsWith("/") ? req.url : "/";
  try {
    return new URL(path, `http://${req.headers.host ?? "localhost"}`);
  } catch {
    return new URL(path, "http://localhost");
  }
}
