import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connection } from "mongoose";
import { sendProblem } from "../lib/http/problem.js";
import { sendJson } from "../lib/http/send-json.js";
import type { SyncStatus } from "../lib/ops/assess-sync-health.js";
import { withDeadline } from "../lib/with-deadline.js";

/**
 * GET /api/health: liveness, a database round trip and the sync's status (`ok`, `degraded`,
 * `stalled`; the reasons are for admins, at /api/admin/status). No auth; reveals nothing but
 * states. 503 when the database is down or the sync has stalled, so an uptime monitor alerts.
 * The verdict includes Inngest's reachability, probed at most once a minute per instance
 * (`inngestProbeCacheMs`): a monitor polling every few seconds never turns into as many calls.
 */
export function createHealthHandler(connect: () => Promise<Connection>, syncStatus?: (connection: Connection) => Promise<SyncStatus>) {
  return async function health(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendProblem(res, "methodNotAllowed", { headers: { allow: "GET, HEAD" } });
      return;
    }
    const started = performance.now();
    let connection: Connection;
    try {
      connection = await withDeadline(connect(), 3_000, "connecting to MongoDB");
      await withDeadline(connection.db!.command({ ping: 1 }), 2_000, "pinging MongoDB");
    } catch {
      sendJson(res, 503, { status: "unavailable", checks: { database: { status: "down" } } }, { "retry-after": "5" });
      return;
    }
    const database = { status: "ok", latencyMs: Math.round(performance.now() - started) };
    if (!syncStatus) {
      sendJson(res, 200, { status: "ok", checks: { database } });
      return;
    }
    const sync = await withDeadline(syncStatus(connection), 3_000, "reading the sync's status").catch(() => "unknown" as const);
    const status = sync === "stalled" ? "stalled" : sync === "degraded" ? "degraded" : "ok";
    sendJson(res, sync === "stalled" ? 503 : 200, { status, checks: { database, sync: { status: sync } } });
  };
}

/** How long /api/health reuses an Inngest probe's answer (admin status and metrics always probe afresh). */
const inngestProbeCacheMs = 60_000;
let syncStatus: Promise<(connection: Connection) => Promise<SyncStatus>> | undefined;

// Config, the MongoDB driver and the sync core load with the first check, not with the module (cold starts).
export default createHealthHandler(
  async () => {
    const [{ getConfig }, { connectMongo }] = await Promise.all([import("../lib/config.js"), import("../lib/db/connection.js")]);
    return connectMongo(getConfig().mongo);
  },
  async (connection) => {
    // Only the models the verdict reads: not Clerk's SDK, Inngest's or the rest of the sync core.
    syncStatus ??= Promise.all([import("../lib/config.js"), import("../lib/ops/sync-figures.js")]).then(([{ getConfig }, { cachedSyncStatus }]) =>
      cachedSyncStatus(getConfig().status, inngestProbeCacheMs),
    );
    return (await syncStatus)(connection);
  },
);
