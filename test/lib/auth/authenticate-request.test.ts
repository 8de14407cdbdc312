import type { IncomingMessage } from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { createRequestAuthenticator } from "../../../lib/auth/authenticate-request.js";
import { parseConfig } from "../../../lib/config.js";
import { testClerkEnv } from "../../support/clerk-fixtures.js";
import { createTokenFactory } from "../../support/clerk-tokens.js";

let tokens: Awaited<ReturnType<typeof createTokenFactory>>;
let authenticate: Awaited<ReturnType<typeof createRequestAuthenticator>>;
beforeAll(async () => {
  tokens = await createTokenFactory();
  const config = parseConfig({
    MONGODB_URI: "mongodb://127.0.0.1:9/",
    ...testClerkEnv(tokens.jwtKey),
    CLERK_CLOCK_SKEW_MS: "0",
  });
  authenticate = await createRequestAuthenticator(config.clerk);
});

const request = (authorization: string) => ({ method: "GET", url: "/api/me", headers: { host: "api.example.test", authorization } }) as unknown as IncomingMessage;

describe("the authenticator's cache of verified tokens", () => {
  it("answers a repeated token from the cache, the same as the first time", async () => {
    const token = await tokens.sign({ userId: "user_cached", organization: { id: "org_1", role: "admin" } });
    const first = await authenticate(request(`Bearer ${token}`));
    const again = await authenticate(request(`bearer ${token}`));
    expect(first).toMatchObject({ kind: "signed-in", userId: "user_cached", organization: { id: "org_1", role: "org:admin" } });
    expect(again).toBe(first);
  });

  it("still refuses a cached token once it has expired", async () => {
    // Two seconds from the whole second it was signed in: at least one second of validity, even on a busy machine.
    const token = await tokens.sign({ userId: "user_short", expiresIn: 2 });
    expect((await authenticate(request(`Bearer ${token}`))).kind).toBe("signed-in");
    const { exp } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number };
    await new Promise((resolve) => setTimeout(resolve, exp * 1_000 - Date.now() + 100));
    expect((await authenticate(request(`Bearer ${token}`))).kind).toBe("signed-out");
  });

  it("never caches a refusal: a token for another frontend stays refused", async () => {
    const token = await tokens.sign({ userId: "user_x", azp: "https://evil.example" });
    expect((await authenticate(request(`Bearer ${token}`))).kind).toBe("signed-out");
    expect((await authenticate(request(`Bearer ${token}`))).kind).toBe("signed-out");
  });
});
