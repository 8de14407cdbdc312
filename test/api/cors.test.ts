import { describe, expect, it } from "vitest";
import { meRoute } from "../../api/me/index.js";
import { useTestApi } from "../support/api.js";
import { frontendOrigin } from "../support/clerk-tokens.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
// The frontend origins default to CLERK_AUTHORIZED_PARTIES (frontendOrigin); CORS_ALLOWED_ORIGINS adds a dev server.
const devOrigin = "http://localhost:5173";
const api = useTestApi(db, { CORS_ALLOWED_ORIGINS: `${frontendOrigin},${devOrigin}`, RATE_LIMIT_PER_IP_PER_MINUTE: "3" });

describe("CORS on the user API", () => {
  it("answers an allowed origin's preflight 204 with the exact origin, methods, headers and max age", async () => {
    const me = await api.serve(meRoute);
    const response = await me("/api/me", {
      method: "OPTIONS",
      headers: { origin: devOrigin, "access-control-request-method": "PATCH", "access-control-request-headers": "authorization,content-type" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(devOrigin);
    expect(response.headers.get("vary")).toContain("Origin");
    expect(response.headers.get("access-control-allow-methods")).toBe("GET, PATCH, DELETE, HEAD, OPTIONS");
    expect(response.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(response.headers.get("access-control-allow-headers")).toContain("content-type");
    expect(Number(response.headers.get("access-control-max-age"))).toBeGreaterThan(0);
  });

  it("refuses another origin's preflight and actual request without CORS headers, running nothing", async () => {
    const me = await api.serve(meRoute);
    const before = api.state.clerk.calls.length;
    const preflight = await me("/api/me", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const actual = await me("/api/me", { as: "user_cors_victim", headers: { origin: "https://evil.example" } });
    expect(actual.status).toBe(403);
    expect(actual.headers.get("access-control-allow-origin")).toBeNull();
    expect(((await actual.json()) as { type: string }).type).toBe("/problems/origin-not-allowed");
    // The just-in-time fetch from Clerk never ran, and nothing was stored.
    expect(api.state.clerk.calls.length).toBe(before);
    expect(await db.users().findById("user_cors_victim")).toBeNull();
  });

  it("puts CORS headers on errors too (401, 429), so the app can read them", async () => {
    const me = await api.serve(meRoute);
    const headers = { origin: frontendOrigin, "x-forwarded-for": "198.51.100.77" };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i += 1) {
      last = await me("/api/me", { headers });
      statuses.push(last.status);
      expect(last.headers.get("access-control-allow-origin")).toBe(frontendOrigin);
      expect(last.headers.get("access-control-expose-headers")).toContain("Retry-After");
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(last?.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("keeps same-origin requests working without CORS headers", async () => {
    const me = await api.serve(meRoute);
    const response = await me("/api/me", { method: "DELETE", headers: { origin: "http://127.0.0.1" } });
    // Origin's host differs from the test server's host:port: refused, as a cross-site page would be.
    expect(response.status).toBe(403);
    const sameHost = new URL((await me("/api/me", {})).url).host;
    const same = await me("/api/me", { headers: { origin: `http://${sameHost}` } });
    expect(same.status).toBe(401);
    expect(same.headers.get("access-control-allow-origin")).toBeNull();
  });
});
