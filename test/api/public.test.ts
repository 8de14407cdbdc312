import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHealthHandler } from "../../api/health.js";
import openapiHandler from "../../api/openapi.json.js";
import { meRoute } from "../../api/me/index.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { connectMongo } from "../../lib/db/connection.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { serveRoute } from "../../lib/http/route.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { serveHandler } from "../support/http.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();

/** A loopback port with nothing listening. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
const api = useTestApi(db);

describe("GET /api/openapi.json", () => {
  let server: Awaited<ReturnType<typeof serveHandler>>;
  beforeAll(async () => {
    server = await serveHandler(openapiHandler);
  });
  afterAll(() => server.close());

  it("serves an OpenAPI 3.1 document generated from the zod schemas", async () => {
    const response = await fetch(`${server.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { additionalProperties?: unknown; properties?: Record<string, unknown> }> };
    };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/api/me", "/api/me/export", "/api/users", "/api/users/{id}", "/api/health"]),
    );
    expect(Object.keys(document.paths["/api/me"] ?? {})).toEqual(["get", "patch", "delete"]);
    const patch = document.components.schemas.ProfilePatch;
    expect(patch?.additionalProperties).toBe(false);
    expect(Object.keys(patch?.properties ?? {})).toEqual(["displayName", "bio", "preferences"]);
    expect(document.components.schemas.User?.properties).toHaveProperty("email");
  });
});

describe("GET /api/health", () => {
  it("reports the database up, without auth and without revealing configuration", async () => {
    const server = await serveHandler(createHealthHandler(() => connectMongo(db.config)));
    try {
      const response = await fetch(`${server.url}/api/health`);
      const text = await response.text();
      expect(response.status).toBe(200);
      expect(JSON.parse(text)).toMatchObject({ status: "ok", checks: { database: { status: "ok" } } });
      expect(text).not.toMatch(/mongodb:|127\.0\.0\.1|whsec_|sk_test/);
    } finally {
      await server.close();
    }
  });

  it("reports 503 when the database is unreachable", async () => {
    const port = await closedPort();
    const down = { ...db.config, uri: `mongodb://127.0.0.1:${port}/`, serverSelectionTimeoutMs: 300 };
    const server = await serveHandler(createHealthHandler(() => connectMongo(down)));
    try {
      const response = await fetch(`${server.url}/api/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: "unavailable", checks: { database: { status: "down" } } });
    } finally {
      await server.close();
    }
  });
});

describe("when a dependency is down", () => {
  it("an API route answers 503 problem+json instead of hanging or crashing", async () => {
    const port = await closedPort();
    const server = await serveHandler(
      serveRoute(meRoute, {
        gate: api.state.deps.gate,
        services: async () => {
          throw new Error(`connect ECONNREFUSED 127.0.0.1:${port}`);
        },
      }),
    );
    try {
      const token = await api.state.tokens.sign({ userId: "user_a" });
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(((await response.json()) as { type: string }).type).toBe("/problems/service-unavailable");
    } finally {
      await server.close();
    }
  });
});

describe("API routes and methods", () => {
  it("answers an unsupported method with 405 and Allow", async () => {
    const me = await api.serve(meRoute);
    const response = await me("/api/me", { method: "PUT", as: "user_a" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, PATCH, DELETE, HEAD, OPTIONS");
  });

  it("answers HEAD like GET, without a body", async () => {
    await api.state.services.store.apply({
      kind: "upsert",
      userId: "user_head",
      snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_head", updatedAt: 1_000 }))),
    });
    const me = await api.serve(meRoute);
    const [get, head] = [await me("/api/me", { as: "user_head" }), await me("/api/me", { method: "HEAD", as: "user_head" })];
    expect(get.status).toBe(200);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
    expect(await head.text()).toBe("");
  });
});
