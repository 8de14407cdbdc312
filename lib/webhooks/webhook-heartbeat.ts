import type { MongoConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { Heartbeats } from "../ops/heartbeats.js";

/**
 * The `webhook-verified` freshness heartbeat (GET /api/admin/status), as the endpoint's
 * `onForwarded`: written after the answer (`after`, i.e. Vercel's `waitUntil`), at most every
 * 30 s per instance. MongoDB's driver loads with the first beat, not with the endpoint, and a
 * failed beat is logged and retried on the next delivery; it never fails one.
 */
export function webhookHeartbeat(mongo: MongoConfig, logger: Logger, after: (work: Promise<unknown>) => void): (at: Date) => void {
  let heartbeats: Promise<Heartbeats> | undefined;
  return (at) => {
    heartbeats ??= Promise.all([import("../db/connection.js"), import("../ops/heartbeats.js")]).then(async ([{ connectMongo }, { createHeartbeats }]) =>
      createHeartbeats(await connectMongo(mongo)),
    );
    const beat = heartbeats.then((recorder) => recorder.beat("webhook-verified", at));
    after(
      beat.catch((error: unknown) => {
        heartbeats = undefined;
        logger.warn({ err: error }, "webhook heartbeat not recorded");
      }),
    );
  };
}
