import { serve } from "inngest/node";
import { createInngestClient, type InngestClient } from "../inngest/client.js";
import { createFunctions } from "../inngest/functions/index.js";
import type { AllFunctionDeps } from "../inngest/functions/index.js";
import { connectActivityStore } from "../lib/activity/connect-activity-store.js";
import { createMailer, type Mailer } from "../lib/email/mailer.js";
import { sharedAppEventPublisher } from "../lib/nats/shared-app-event-publisher.js";
import { getConfig } from "../lib/config.js";
import { lazyHandler } from "../lib/http/lazy-handler.js";
import { createLogger } from "../lib/logger.js";
import { connectMaintenanceServices } from "../lib/reconcile/maintenance-services.js";

/**
 * Inngest calls this endpoint to run the functions (and PUTs it to sync them).
 * Outside dev mode the SDK rejects any request not signed with INNGEST_SIGNING_KEY;
 * config refuses to start in production without that key or with INNGEST_DEV set.
 */
export function createInngestHandler(inngest: InngestClient, deps: AllFunctionDeps) {
  return serve({ client: inngest, functions: createFunctions(inngest, deps) });
}

export default lazyHandler(() => {
  const config = getConfig();
  const logger = createLogger(config.logLevel).child({ route: "inngest" });
  const inngest = createInngestClient(config.inngest, logger);
  let services: ReturnType<typeof connectMaintenanceServices> | undefined;
  let mailer: Mailer | undefined;
  const maintenance = () => {
    services ??= connectMaintenanceServices(config, logger, (events) => inngest.send(events)).catch((error: unknown) => {
      services = undefined;
      throw error;
    });
    return services;
  };
  return createInngestHandler(inngest, {
    users: async () => (await maintenance()).store,
    outbox: async () => (await maintenance()).outbox,
    audit: async () => (await maintenance()).audit,
    maintenance,
    activity: () => connectActivityStore(config.mongo),
    welcomeEmail: {
      users: async () => (await maintenance()).users,
      mailer: async () => (mailer ??= createMailer({ ...config.email, logger: logger.child({ component: "mailer" }) })),
    },
    publisher: async () =>
      config.nats.url
        ? sharedAppEventPublisher({ url: config.nats.url, stream: config.nats.stream, timeoutMs: config.nats.timeoutMs, logger })
        : null,
    activitySchedule: { purgeCron: config.retention.activityPurgeCron, retentionMs: config.retention.activityRetentionMs },
    schedule: {
      reconcileCron: config.reconcile.cron,
      purgeCron: config.retention.purgeCron,
      outboxCron: config.reconcile.outboxCron,
      deletedUserRetentionMs: config.retention.deletedUserRetentionMs,
      auditRetentionMs: config.retention.auditRetentionMs,
    },
  });
});
