import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connection } from "mongoose";
import { sendProblem } from "../lib/http/problem.js";
import { sendJson } from "../lib/http/send-json.js";
import { withDeadline } from "../lib/with-deadline.js";

/** GET /api/health: liveness plus a database round trip. No auth; reveals nothing but up/down. */
export function createHealthHandler(connect: () => Promise<Connection>) {
  return async function health(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendProblem(res, "methodNotAllowed", { headers: { allow: "GET, HEAD" } });
      return;
    }
    const started = performance.now();
    try {
      const connection = await withDeadline(connect(), 3_000, "connecting to MongoDB");
      await withDeadline(connection.db!.command({ ping: 1 }), 2_000, "pinging MongoDB");
      const latencyMs = Math.round(performance.now() - started);
      sendJson(res, 200, { status: "ok", checks: { database: { status: "ok", latencyMs } } });
    } catch {
      sendJson(res, 503, { status: "unavailable", checks: { database: { status: "down" } } }, { "retry-after": "5" });
    }
  };
}

// Config and the MongoDB driver load with the first check, not with the module (cold starts).
export default createHealthHandler(async () => {
  const [{ getConfig }, { connectMongo }] = await Promise.all([import("../lib/config.js"), import("../lib/db/connection.js")]);
  return connectMongo(getConfig().mongo);
});
