import type { UserJSON } from "@clerk/backend";
import { serveClerkApi } from "./clerk-api-server.js";

/**
 * Clerk's Backend API user endpoints at their HTTP boundary, on 127.0.0.1, sized for
 * benchmarks of 100,000 users (test/support/clerk-backend-api.ts filters and sorts every
 * user on every list request, and scans the whole map for each `user_id` filter: fine
 * for tests, quadratic at this size, and its cost would land in the measured run).
 *
 * Users are held as their JSON text, in creation order, so a page is a slice joined
 * into an array: the stand-in's own cost stays small next to what it measures.
 *
 * - `GET /v1/users?limit=1..500&offset&order_by=+created_at|-created_at` (default
 *   `-created_at`, as Clerk), repeated `user_id` filters: a JSON array.
 * - `GET /v1/users/count`: `{ object: "total_count", total_count }`.
 * - `GET /v1/users/:id`: the user, or 404 `{ errors: [{ code: "resource_not_found" }] }`.
 * - `GET /v1/organizations`: no organizations (`{ data: [], total_count: 0 }`), so the Inngest
 *   function's organization steps run and find nothing.
 * - Bearer secret key required (401 otherwise).
 */
export interface ClerkStandIn {
  url: string;
  readonly size: number;
  /** Adds or replaces a user. New users must come in creation order (the list's order). */
  put(user: UserJSON): void;
  /** Removes a user (it disappears from lists and `GET /v1/users/:id` answers 404). */
  remove(id: string): void;
  /** Requests served so far, by route. */
  readonly requests: { list: number; lookup: number; count: number; get: number };
  close(): Promise<void>;
}

export async function startClerkStandIn(secretKey: string): Promise<ClerkStandIn> {
  const json = new Map<string, string>();
  /** Ids in creation order; `position` maps an id to its index (for ordering `user_id` lookups). */
  let order: string[] = [];
  const position = new Map<string, number>();
  let lastCreatedAt = Number.NEGATIVE_INFINITY;
  let removed = 0;
  const requests = { list: 0, lookup: 0, count: 0, get: 0 };

  /** Removals leave holes in `order`; compact them before the next list request. */
  function compact(): void {
    if (removed === 0) return;
    order = order.filter((id) => json.has(id));
    position.clear();
    order.forEach((id, index) => position.set(id, index));
    removed = 0;
  }

  const server = await serveClerkApi(secretKey, ({ url, reply, notFound, pageParams }) => {
    if (url.pathname === "/v1/users/count") {
      requests.count += 1;
      return reply(200, JSON.stringify({ object: "total_count", total_count: json.size }));
    }
    if (url.pathname === "/v1/users") {
      const params = pageParams();
      if (!params) return;
      const { limit, offset } = params;
      compact();
      const ascending = url.searchParams.get("order_by") === "+created_at";
      const ids = url.searchParams.getAll("user_id");
      let selected: string[];
      if (ids.length > 0) {
        requests.lookup += 1;
        const found = [...new Set(ids)].filter((id) => json.has(id));
        found.sort((a, b) => (ascending ? 1 : -1) * ((position.get(a) ?? 0) - (position.get(b) ?? 0)));
        selected = found.slice(offset, offset + limit);
      } else {
        requests.list += 1;
        if (ascending) selected = order.slice(offset, offset + limit);
        else {
          const end = Math.max(0, order.length - offset);
          selected = order.slice(Math.max(0, end - limit), end).reverse();
        }
      }
      return reply(200, `[${selected.map((id) => json.get(id)).join(",")}]`);
    }
    if (url.pathname === "/v1/organizations") return reply(200, JSON.stringify({ data: [], total_count: 0 }));
    const match = /^\/v1\/users\/([^/]+)$/.exec(url.pathname);
    if (match) {
      requests.get += 1;
      const id = decodeURIComponent(match[1] ?? "");
      const user = json.get(id);
      return user ? reply(200, user) : notFound(`User ${id}`);
    }
    notFound("route");
  });

  return {
    url: server.url,
    get size() {
      return json.size;
    },
    put(user) {
      if (!json.has(user.id)) {
        if (user.created_at < lastCreatedAt) throw new RangeError(`users must be added in creation order (${user.id})`);
        lastCreatedAt = user.created_at;
        compact();
        position.set(user.id, order.length);
        order.push(user.id);
      }
      json.set(user.id, JSON.stringify(user));
    },
    remove(id) {
      if (json.delete(id)) removed += 1;
    },
    requests,
    close: server.close,
  };
}
