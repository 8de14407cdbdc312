import type { IncomingMessage, ServerResponse } from "node:http";
import { clerkMiddleware, getAuth } from "@clerk/express";
import type { ClerkClient } from "@clerk/backend";
import type { ClerkConfig } from "../config.js";

export type AuthResult =
  | { kind: "signed-in"; userId: string; sessionId: string | null; claims: Record<string, unknown> }
  | { kind: "signed-out"; reason: "no-valid-token" | "handshake-required" | "error" };

export type AuthenticateRequest = (req: IncomingMessage) => Promise<AuthResult>;

/**
 * Authenticates a request with Clerk's own `clerkMiddleware` + `getAuth`, verifying
 * the session token networkless when `jwtKey` is configured, with a small clock skew,
 * and checking `azp` against the frontend origins.
 *
 * The middleware never touches our response: it writes to a sink. Clerk may ask for a
 * handshake redirect (browser navigations with a stale cookie); an API never redirects,
 * so that is reported as signed out and the route answers 401.
 */
export function createRequestAuthenticator(config: ClerkConfig, clerkClient: ClerkClient): AuthenticateRequest {
  const middleware = clerkMiddleware({
    clerkClient,
    secretKey: config.secretKey,
    publishableKey: config.publishableKey,
    jwtKey: config.jwtKey,
    authorizedParties: config.authorizedParties.length > 0 ? config.authorizedParties : undefined,
    clockSkewInMs: config.clockSkewMs,
  });

  return (req) =>
    new Promise<AuthResult>((resolve) => {
      const sink = {
        writableEnded: false,
        headersSent: false,
        appendHeader: () => sink,
        setHeader: () => sink,
        status: () => sink,
        end: () => {
          sink.writableEnded = true;
          resolve({ kind: "signed-out", reason: "handshake-required" });
        },
      };
      middleware(req as never, sink as unknown as ServerResponse as never, (error?: unknown) => {
        if (error) {
          resolve({ kind: "signed-out", reason: "error" });
          return;
        }
        const auth = getAuth(req as never);
        if (!auth.userId) {
          resolve({ kind: "signed-out", reason: "no-valid-token" });
          return;
        }
        resolve({
          kind: "signed-in",
          userId: auth.userId,
          sessionId: auth.sessionId ?? null,
          claims: (auth.sessionClaims ?? {}) as Record<string, unknown>,
        });
      });
    });
}
