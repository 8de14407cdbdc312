import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import type { RequestGate } from "../../../lib/http/request-gate.js";
import { json, type Route, serveRoute } from "../../../lib/http/route.js";
import { createLogger } from "../../../lib/logger.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../../support/api.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { serveHandler } from "../../support/http.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);

/** Serves `route` through the production pipeline with a gate whose logger writes into `lines`. */
async function serveLogging(route: Route) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const gate: RequestGate = { ...api.state.gate, logger };
  const server = await serveHandler(serveRoute(route, { gate: async () => gate, services: async () => api.state.services }));
  const get = async (userId: string | undefined, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/probe`, { headers: { ...(userId && { authorization: `Bearer ${await api.state.tokens.sign({ userId })}` }), ...headers } });
  return { lines, get, close: server.close };
}

async function storedUser(id: string) {
  const snapshot = toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1_000 })));
  await api.state.services.store.apply({ kind: "upsert", userId: id, snapshot });
}

describe("the request's logger", () => {
  it("names the request, the route, the method and the caller in what a handler logs", async () => {
    await storedUser("user_logs");
    const probe = await serveLogging({
      name: "probe",
      access: "user",
      methods: {
        GET: async ({ log }) => {
          log.info("handled");
          return json(200, { ok: true });
        },
      },
    });
    try {
      const response = await probe.get("user_logs", { "x-request-id": "req-handled-1" });
      expect(response.status).toBe(200);
      expect(probe.lines.find((line) => line.msg === "handled")).toMatchObject({ requestId: "req-handled-1", route: "probe", method: "GET", userId: "user_logs" });
    } finally {
      await probe.close();
    }
  });

  it("names them in the log of an unexpected error too, answered 500 without details", async () => {
    await storedUser("user_crash");
    const probe = await serveLogging({
      name: "crashing",
      access: "user",
      methods: {
        GET: async () => {
          throw new TypeError("a bug in the handler");
        },
      },
    });
    try {
      const response = await probe.get("user_crash", { "x-request-id": "req-crash-1" });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { type: string }).type).toBe("/problems/internal");
      const logged = probe.lines.find((line) => line.msg === "unhandled error in route");
      expect(logged).toMatchObject({ requestId: "req-crash-1", route: "crashing", method: "GET", userId: "user_crash", err: { message: "a bug in the handler" } });
    } finally {
      await probe.close();
    }
  });

  it("logs a refused origin with the request's id and route, before anyone is known", async () => {
    const probe = await serveLogging({ name: "probe", access: "user", methods: { GET: async () => json(200, {}) } });
    try {
      const response = await probe.get(undefined, { origin: "https://evil.example", "x-request-id": "req-origin-1" });
      expect(response.status).toBe(403);
      const logged = probe.lines.find((line) => line.msg === "request from an origin not allowed");
      expect(logged).toMatchObject({ requestId: "req-origin-1", route: "probe", method: "GET", origin: "https://evil.example" });
      expect(logged).not.toHaveProperty("userId");
    } finally {
      await probe.close();
    }
  });
});
