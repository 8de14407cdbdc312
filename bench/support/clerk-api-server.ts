import type { IncomingMessage, ServerResponse } from "node:http";
import { serveHandler } from "../../test/support/http.js";

/** One request to a Clerk Backend API stand-in, already authenticated and a GET. */
export interface ClerkApiRequest {
  url: URL;
  reply(status: number, body: string): void;
  /** Clerk's 404 `{ errors: [{ code: "resource_not_found" }] }` for `what`. */
  notFound(what: string): void;
  /** `limit` (1..500, default 10) and `offset` (default 0), or `null` after answering Clerk's 422. */
  pageParams(): { limit: number; offset: number } | null;
}

/**
 * The HTTP boundary the benchmarks' Clerk stand-ins share, on 127.0.0.1: the Bearer secret key
 * (401 otherwise), GET only (405), JSON answers with Clerk's error shapes; `route` answers the rest.
 */
export async function serveClerkApi(secretKey: string, route: (request: ClerkApiRequest) => void): Promise<{ url: string; close(): Promise<void> }> {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const reply = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      return reply(401, JSON.stringify({ errors: [{ message: "Unauthorized", long_message: "Invalid secret key", code: "authentication_invalid" }] }));
    }
    if (req.method !== "GET") return reply(405, JSON.stringify({ errors: [{ message: "method not allowed", code: "method_not_allowed" }] }));
    route({
      url,
      reply,
      notFound: (what) =>
        reply(404, JSON.stringify({ errors: [{ message: "not found", long_message: `${what} not found`, code: "resource_not_found" }], clerk_trace_id: "trace_bench" })),
      pageParams() {
        const limit = Number(url.searchParams.get("limit") ?? 10);
        const offset = Number(url.searchParams.get("offset") ?? 0);
        if (Number.isInteger(limit) && limit >= 1 && limit <= 500 && Number.isInteger(offset) && offset >= 0) return { limit, offset };
        reply(422, JSON.stringify({ errors: [{ message: "invalid limit or offset", code: "form_param_value_invalid" }] }));
        return null;
      },
    });
  };
  // Reconciliation pauses between pages while it writes: keep its connection open meanwhile.
  return serveHandler(handle, { keepAliveTimeoutMs: 30_000 });
}
