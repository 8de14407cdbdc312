import { afterAll, beforeAll, beforeEach } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { OrganizationJSON, OrganizationMembershipJSON, UserJSON } from "@clerk/backend";

/**
 * Clerk's Backend API at its HTTP boundary, on 127.0.0.1, speaking its documented shapes:
 * `GET /v1/users/:id` (200 user JSON, 404 `{ errors: [{ code: "resource_not_found" }] }`),
 * `DELETE /v1/users/:id` (200 `{ object: "user", id, deleted: true }`), `GET /v1/users` (a JSON array,
 * `limit` 1–500, `offset`, `order_by`, repeated `user_id` filters; 429 with `Retry-After` on demand),
 * `GET /v1/organizations`, `GET /v1/organizations/:id` and `GET /v1/organizations/:id/memberships`
 * (paginated `{ data, total_count }`, `limit`, `offset`, oldest first), Bearer secret key required.
 */
export async function startClerkBackendApi(secretKey: string) {
  const users = new Map<string, UserJSON>();
  const organizations = new Map<string, OrganizationJSON>();
  /** By organization id, then user id. */
  const memberships = new Map<string, Map<string, OrganizationMembershipJSON>>();
  const calls: { method: string; path: string; query: URLSearchParams }[] = [];
  /** Pages of the user list answered (no `user_id` filter), by offset: "no page done twice". */
  const listServed = new Map<number, number>();
  /** A list request at this offset is never answered (a process stuck there can only be killed). */
  let hangAtOffset: number | undefined;
  let delayMs = 0;
  let failing = false;
  /** Answer the next N requests with 429 and this Retry-After (seconds). */
  let rateLimited = { remaining: 0, retryAfterSeconds: 1 };
  /** Runs before each list request: lets a test create or delete users while a scan runs. */
  let beforeList: ((offset: number) => void) | undefined;

  const notFound = (id: string) => ({
    errors: [{ message: "not found", long_message: `User ${id} not found`, code: "resource_not_found" }],
    clerk_trace_id: "trace_test",
  });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    calls.push({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams });
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      reply(401, { errors: [{ message: "Unauthorized", long_message: "Invalid secret key", code: "authentication_invalid" }] });
      return;
    }
    setTimeout(() => {
      if (failing) return reply(500, { errors: [{ message: "internal", long_message: "internal", code: "internal_clerk_error" }] });
      if (rateLimited.remaining > 0) {
        rateLimited.remaining -= 1;
        res.setHeader("retry-after", String(rateLimited.retryAfterSeconds));
        return reply(429, { errors: [{ message: "Too many requests", long_message: "Rate limit exceeded", code: "too_many_requests" }] });
      }
      if (url.pathname === "/v1/users/count" && req.method === "GET") {
        return reply(200, { object: "total_count", total_count: users.size });
      }
      if (url.pathname === "/v1/users" && req.method === "GET") {
        const limit = Number(url.searchParams.get("limit") ?? 10);
        const offset = Number(url.searchParams.get("offset") ?? 0);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
          return reply(422, { errors: [{ message: "invalid limit", long_message: "limit must be 1..500", code: "form_param_value_invalid" }] });
        }
        const ids = url.searchParams.getAll("user_id");
        if (ids.length === 0 && offset === hangAtOffset) return;
        beforeList?.(offset);
        if (ids.length === 0) listServed.set(offset, (listServed.get(offset) ?? 0) + 1);
        const ascending = url.searchParams.get("order_by") === "+created_at";
        const all = [...users.values()]
          .filter((user) => ids.length === 0 || ids.includes(user.id))
          .sort((a, b) => (ascending ? 1 : -1) * (a.created_at - b.created_at || a.id.localeCompare(b.id)));
        return reply(200, all.slice(offset, offset + limit));
      }
      const paginate = <T extends { created_at: number; id: string }>(items: T[]) => {
        const limit = Number(url.searchParams.get("limit") ?? 10);
        const offset = Number(url.searchParams.get("offset") ?? 0);
        const sorted = items.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
        return { data: sorted.slice(offset, offset + limit), total_count: sorted.length };
      };
      if (url.pathname === "/v1/organizations" && req.method === "GET") return reply(200, paginate([...organizations.values()]));
      const organizationMatch = /^\/v1\/organizations\/([^/]+)(\/memberships)?$/.exec(url.pathname);
      if (organizationMatch && req.method === "GET") {
        const organizationId = decodeURIComponent(organizationMatch[1] ?? "");
        const organization = organizations.get(organizationId);
        if (!organization) return reply(404, notFound(organizationId));
        if (!organizationMatch[2]) return reply(200, organization);
        return reply(200, paginate([...(memberships.get(organizationId)?.values() ?? [])]));
      }
      const match = /^\/v1\/users\/([^/]+)$/.exec(url.pathname);
      const id = match ? decodeURIComponent(match[1] ?? "") : "";
      const user = users.get(id);
      if (match && req.method === "GET") return user ? reply(200, user) : reply(404, notFound(id));
      if (match && req.method === "DELETE") {
        if (!user) return reply(404, notFound(id));
        users.delete(id);
        return reply(200, { object: "user", id, deleted: true });
      }
      reply(404, { errors: [{ message: "not found", long_message: "no route", code: "resource_not_found" }] });
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    users,
    organizations,
    memberships,
    calls,
    listServed,
    /** Clerk list requests that looked users up by id (`user_id` filters): the sweep's lookups. */
    lookups: () => calls.filter((call) => call.path === "/v1/users" && call.query.has("user_id")).length,
    hangListAt: (offset: number | undefined) => void (hangAtOffset = offset),
    setDelay: (ms: number) => void (delayMs = ms),
    rateLimitNext: (count: number, retryAfterSeconds: number) => void (rateLimited = { remaining: count, retryAfterSeconds }),
    onList: (hook: ((offset: number) => void) | undefined) => void (beforeList = hook),
    setFailing: (value: boolean) => void (failing = value),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One stand-in for the test file, reset before each test. */
export function useClerkBackendApi(secretKey: string) {
  const ref = {} as { current: Awaited<ReturnType<typeof startClerkBackendApi>> };
  beforeAll(async () => {
    ref.current = await startClerkBackendApi(secretKey);
  });
  afterAll(() => ref.current.close());
  beforeEach(() => {
    ref.current.users.clear();
    ref.current.organizations.clear();
    ref.current.memberships.clear();
    ref.current.calls.length = 0;
    ref.current.listServed.clear();
    ref.current.hangListAt(undefined);
    ref.current.setDelay(0);
    ref.current.setFailing(false);
    ref.current.rateLimitNext(0, 1);
    ref.current.onList(undefined);
  });
  return () => ref.current;
}
