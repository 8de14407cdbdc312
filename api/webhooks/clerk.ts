import { waitUntil } from "@vercel/functions";
import { lazyHandler } from "../../lib/http/lazy-handler.js";

/**
 * POST /api/webhooks/clerk: Clerk (Svix) → verify the raw bytes → Inngest (`clerk/<type>`, the
 * Svix id as event id). The endpoint is lib/webhooks/clerk-webhook-handler.ts; this file wires
 * it to the configuration. It never writes to MongoDB but for the freshness heartbeat.
 */

// The handler and the SDKs (svix, zod, inngest, pino) load with the first delivery, not with the module: cold starts.
export default lazyHandler(async () => {
  const [{ getConfig }, { createLogger }, { createInngestClient }, { createClerkWebhookVerifier }, { createClerkWebhookHandler }, { webhookHeartbeat }, { withDeadline }] =
    await Promise.all([
      import("../../lib/config.js"),
      import("../../lib/logger.js"),
      import("../../inngest/client.js"),
      import("../../lib/webhooks/verify-clerk-webhook.js"),
      import("../../lib/webhooks/clerk-webhook-handler.js"),
      import("../../lib/webhooks/webhook-heartbeat.js"),
      import("../../lib/with-deadline.js"),
    ]);
  const config = getConfig();
  const logger = createLogger(config.logLevel).child({ route: "webhooks/clerk" });
  const inngest = createInngestClient(config.inngest, logger);
  return createClerkWebhookHandler({
    verify: createClerkWebhookVerifier(config.webhook.signingSecret),
    sendEvent: (event) => withDeadline(inngest.send(event), config.inngest.sendTimeoutMs, "sending to Inngest"),
    onForwarded: webhookHeartbeat(config.mongo, logger, waitUntil),
    maxBodyBytes: config.webhook.maxBodyBytes,
    expectedInstanceId: config.clerk.instanceId,
    bodyReadTimeoutMs: config.webhook.bodyReadTimeoutMs,
    logger,
  });
});
