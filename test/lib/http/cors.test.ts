import { describe, expect, it } from "vitest";
import { createCorsPolicy, decideCors } from "../../../lib/http/cors.js";

const policy = createCorsPolicy(["https://app.example.com", "http://localhost:5173/"]);
const methods = ["GET", "PATCH", "HEAD", "OPTIONS"];
const host = "api.example.com";

describe("decideCors", () => {
  it("treats a request without Origin as not CORS, still varying on Origin", () => {
    expect(decideCors(policy, { method: "GET", headers: { host } }, methods)).toEqual({ kind: "not-cors", headers: { vary: "Origin" } });
  });

  it("lets the API's own origin through without CORS headers (same-origin deployments, cookies)", () => {
    const decision = decideCors(policy, { method: "PATCH", headers: { host, origin: "https://api.example.com" } }, methods);
    expect(decision.kind).toBe("not-cors");
  });

  it("names exactly the allowed origin on an actual request, and exposes the headers the app reads", () => {
    const decision = decideCors(policy, { method: "GET", headers: { host, origin: "https://app.example.com" } }, methods);
    expect(decision.kind).toBe("allowed");
    expect(decision.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(decision.headers.vary).toBe("Origin");
    for (const name of ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", "X-Request-Id", "Content-Disposition"]) {
      expect(decision.headers["access-control-expose-headers"]).toContain(name);
    }
    expect(decision.headers).not.toHaveProperty("access-control-allow-credentials");
  });

  it("answers a preflight with the route's methods, the requested headers and a max age", () => {
    const decision = decideCors(
      policy,
      {
        method: "OPTIONS",
        headers: { host, origin: "http://localhost:5173", "access-control-request-method": "PATCH", "access-control-request-headers": "Authorization, Content-Type, X-Trace" },
      },
      methods,
    );
    expect(decision.kind).toBe("preflight");
    expect(decision.headers["access-control-allow-origin"]).toBe("http://localhost:5173");
    expect(decision.headers["access-control-allow-methods"]).toBe("GET, PATCH, HEAD, OPTIONS");
    expect(decision.headers["access-control-allow-headers"]).toBe("authorization, content-type, x-request-id, x-trace");
    expect(decision.headers["access-control-max-age"]).toBe("600");
  });

  it.each([
    ["another site", "https://evil.example"],
    ["a look-alike host", "https://app.example.com.evil.example"],
    ["another scheme", "http://app.example.com"],
    ["another port", "http://localhost:5174"],
    ["the opaque null origin", "null"],
  ])("refuses %s, with no CORS headers", (_name, origin) => {
    for (const method of ["GET", "OPTIONS"]) {
      const decision = decideCors(policy, { method, headers: { host, origin, "access-control-request-method": "GET" } }, methods);
      expect(decision.kind).toBe("refused");
      expect(Object.keys(decision.headers).filter((name) => name.startsWith("access-control-"))).toEqual([]);
    }
  });

  it("allows nothing cross-origin when no origin is configured", () => {
    const none = createCorsPolicy([]);
    expect(decideCors(none, { method: "GET", headers: { host, origin: "https://app.example.com" } }, methods).kind).toBe("refused");
  });
});
