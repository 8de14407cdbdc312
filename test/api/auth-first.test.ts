import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meRoute } from "../../api/me/index.js";
import { parseConfig } from "../../lib/config.js";
import { createRequestGate, type RequestGate } from "../../lib/http/request-gate.js";
import { serveRoute } from "../../lib/http/route.js";
import { createLogger } from "../../lib/logger.js";
import { createServices } from "../../lib/services.js";
import { testClerkEnv } from "../support/clerk-fixtures.js";
import { createTokenFactory } from "../support/clerk-tokens.js";
import { serveHandler } from "../support/http.js";

/**
 * Authentication comes first: a request without a valid token is answered by the gate
 * (Clerk's networkless check) before MongoDB is touched. The "database" here is a TCP
 * port that accepts connections and never answers, counting them: production wiring
 * (createServices from a parsed config) against it must never be reached by an anonymous
 * request.
 */
describe("authentication before the database", () => {
  let database: Server;
  let connections = 0;
  const sockets = new Set<Socket>();
  let gate: RequestGate;
  let tokens: Awaited<ReturnType<typeof createTokenFactory>>;
  let servicesBuilt = 0;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    database = createServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => database.listen(0, "127.0.0.1", resolve));
    const { port } = database.address() as { port: number };
    tokens = await createTokenFactory();
    const config = parseConfig({
      MONGODB_URI: `mongodb://127.0.0.1:${port}/`,
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: "500",
      ...testClerkEnv(tokens.jwtKey),
      LOG_LEVEL: "silent",
    });
    const logger = createLogger("silent");
    gate = await createRequestGate(config, logger);
    const server = await serveHandler(
      serveRoute(meRoute, {
        gate: async () => gate,
        services: () => {
          servicesBuilt += 1;
          return createServices(config, logger);
        },
      }),
    );
    url = server.url;
    close = server.close;
  });
  afterAll(async () => {
    await close?.();
    await gate?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => database.close(resolve));
  });

  it.each([
    ["no token", undefined],
    ["a malformed token", "Bearer not-a-token"],
    ["a token for another frontend", "other-azp"],
    ["an expired token", "expired"],
  ])("answers %s with 401 problem+json while the database is unreachable, and never connects to it", async (_name, kind) => {
    let authorization = kind;
    if (kind === "other-azp") authorization = `Bearer ${await tokens.sign({ userId: "user_a", azp: "https://evil.example" })}`;
    if (kind === "expired") authorization = `Bearer ${await tokens.sign({ userId: "user_a", expiresIn: -60 })}`;
    const started = performance.now();
    const response = await fetch(`${url}/api/me`, { headers: authorization ? { authorization } : {} });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await response.json()) as { type: string }).type).toBe("/problems/unauthenticated");
    // Far below the database's 500 ms server-selection timeout: nothing waited on it.
    expect(performance.now() - started).toBeLessThan(400);
    expect(servicesBuilt).toBe(0);
    expect(connections).toBe(0);
  });

  it("accepts the authorization scheme in any case (RFC 9110), then reaches for the database", async () => {
    const token = await tokens.sign({ userId: "user_a" });
    const response = await fetch(`${url}/api/me`, { headers: { authorization: `bEaReR ${token}` } });
    // Signed in: only now is the database tried, and it does not answer.
    expect(response.status).toBe(503);
    expect(servicesBuilt).toBe(1);
    expect(connections).toBeGreaterThan(0);
  });
});

/** Only Clerk's verdict on a token is a 401: a check that could not run is an outage, said as one. */
describe("when token verification itself fails", () => {
  let tokens: Awaited<ReturnType<typeof createTokenFactory>>;
  beforeAll(async () => {
    tokens = await createTokenFactory();
  });

  async function serveWith(gate: RequestGate) {
    return serveHandler(serveRoute(meRoute, { gate: async () => gate, services: () => Promise.reject(new Error("not reached")) }));
  }

  it("answers 503 authentication-unavailable, not 401, when Clerk's keys cannot be loaded", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    // No CLERK_JWT_KEY: Clerk fetches its JWKS from the Backend API, which is down.
    const config = parseConfig({
      MONGODB_URI: "mongodb://127.0.0.1:9/",
      ...testClerkEnv(),
      CLERK_API_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: "silent",
    });
    const lines: string[] = [];
    const gate = await createRequestGate(config, createLogger("error", { write: (line: string) => void lines.push(line) }));
    const server = await serveWith(gate);
    try {
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${await tokens.sign({ userId: "user_a" })}` } });
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(((await response.json()) as { type: string }).type).toBe("/problems/authentication-unavailable");
      expect(lines.join("")).toContain("Clerk could not check the session token");
    } finally {
      await server.close();
      await gate.close();
    }
  });

  it("answers 500 with a log line, not 401, when verification throws", async () => {
    const config = parseConfig({
      MONGODB_URI: "mongodb://127.0.0.1:9/",
      ...testClerkEnv(tokens.jwtKey),
    });
    const lines: string[] = [];
    const real = await createRequestGate(config, createLogger("error", { write: (line: string) => void lines.push(line) }));
    const crashing: RequestGate = { ...real, authenticate: () => Promise.reject(new TypeError("a bug in verification")) };
    const server = await serveWith(crashing);
    try {
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${await tokens.sign({ userId: "user_a" })}` } });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { type: string }).type).toBe("/problems/internal");
      expect(lines.join("")).toContain("a bug in verification");
    } finally {
      await server.close();
      await real.close();
    }
  });
});
