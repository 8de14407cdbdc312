import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { UserJSON } from "@clerk/backend";

/**
 * Clerk's Backend API at its HTTP boundary, on 127.0.0.1, speaking its documented shapes:
 * `GET /v1/users/:id` (200 user JSON, 404 `{ errors: [{ code: "resource_not_found" }] }`),
 * `DELETE /v1/users/:id` (200 `{ object: "user", id, deleted: true }`), Bearer secret key required.
 */
export async function startClerkBackendApi(secretKey: string) {
  const users = new Map<string, UserJSON>();
  const calls: { method: string; path: string }[] = [];
  let delayMs = 0;
  let failing = false;

  const notFound = (id: string) => ({
    errors: [{ message: "not found", long_message: `User ${id} not found`, code: "resource_not_found" }],
    clerk_trace_id: "trace_test",
  });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    calls.push({ method: req.method ?? "GET", path: url.pathname });
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
    calls,
    setDelay: (ms: number) => void (delayMs = ms),
    setFailing: (value: boolean) => void (failing = value),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
