import { createPublicKey, verify } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { verifyToken } from "@clerk/backend";
import { importSPKI, jwtVerify } from "jose";
import { createRequestAuthenticator } from "../lib/auth/authenticate-request.js";
import { parseConfig } from "../lib/config.js";
import { figure, log } from "./common.js";
import { frontendOrigin } from "./tokens.js";

const warmupIterations = 500;
const iterations = 5_000;

/**
 * Microseconds per session token, one token at a time, rotating over the users' tokens:
 * (a) the project's authenticator on a bare request object, for a token it sees for the first
 * time (Clerk's authenticateRequest; each token once, on a fresh authenticator) and
 * (b) for a token it has verified before (its cache, with the expiry and `azp` checks),
 * (c) `@clerk/backend`'s `verifyToken` with the PEM key, (d) `jose.jwtVerify` with the
 * key imported once, and, for reference, (e) the RS256 signature check alone.
 */
export async function benchTokenVerification(tokens: string[], clerkEnv: Record<string, string>): Promise<void> {
  const config = parseConfig({ ...clerkEnv, MONGODB_URI: "mongodb://127.0.0.1:9/unused", INNGEST_DEV: "1" });
  const authenticate = await createRequestAuthenticator(config.clerk);
  const jwtKey = config.clerk.jwtKey!;
  const joseKey = await importSPKI(jwtKey, "RS256");
  const nodeKey = createPublicKey(jwtKey);
  const signedIn = async (check: typeof authenticate, token: string) => {
    const req = { method: "GET", url: "/api/me", headers: { host: "localhost", authorization: `Bearer ${token}` } };
    return (await check(req as unknown as IncomingMessage)).kind === "signed-in";
  };

  // First sight: every token once, on an authenticator that has seen none of them (after the
  // same pass on another one, so that Clerk's code is compiled and its key imported).
  const warming = await createRequestAuthenticator(config.clerk);
  for (const token of tokens) await signedIn(warming, token);
  const fresh = await createRequestAuthenticator(config.clerk);
  const firstStarted = performance.now();
  for (const token of tokens) if (!(await signedIn(fresh, token))) throw new Error("the authenticator rejected a valid token");
  figure("auth_project_first_sight", ((performance.now() - firstStarted) * 1_000) / tokens.length, "us/token", 0);

  const cases: [string, (token: string) => Promise<boolean> | boolean][] = [
    // Warmed up on every token first (below), so each is answered from the cache.
    ["auth_project_seen_before", (token) => signedIn(authenticate, token)],
    ["auth_clerk_verify_token", async (token) => Boolean((await verifyToken(token, { jwtKey, authorizedParties: [frontendOrigin] })).sub)],
    ["auth_jose_jwt_verify", async (token) => (await jwtVerify(token, joseKey, { algorithms: ["RS256"] })).payload.azp === frontendOrigin],
    [
      "auth_rs256_signature_only",
      (token) => {
        const end = token.lastIndexOf(".");
        return verify("RSA-SHA256", Buffer.from(token.slice(0, end)), nodeKey, Buffer.from(token.slice(end + 1), "base64url"));
      },
    ],
  ];

  for (const [name, check] of cases) {
    for (let i = 0; i < Math.max(warmupIterations, tokens.length); i += 1) await check(tokens[i % tokens.length]!);
    let rejected = 0;
    const started = performance.now();
    for (let i = 0; i < iterations; i += 1) if (!(await check(tokens[i % tokens.length]!))) rejected += 1;
    const microseconds = ((performance.now() - started) * 1_000) / iterations;
    if (rejected > 0) throw new Error(`${name} rejected ${rejected} of ${iterations} valid tokens`);
    log(`${name}: ${iterations} tokens verified`);
    figure(name, microseconds, "us/token", 0);
  }
}
