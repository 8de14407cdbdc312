import { lazyHandler } from "../lib/http/lazy-handler.js";

/**
 * Inngest calls this endpoint to run the functions (and PUTs it to sync them). Outside dev
 * mode the SDK rejects any request not signed with INNGEST_SIGNING_KEY; config refuses to
 * start in production without that key or with INNGEST_DEV set. Everything loads with the
 * first call, not with the module (cold starts).
 */
export default lazyHandler(async () => {
  const [
    { getConfig },
    { createLogger },
    { createInngestClient },
    { createInngestHandler },
    { connectActivityStore },
    { createMailer },
    { sharedAppEventPublisher },
    { connectMaintenanceServices },
  ] = await Promise.all([
    import("../lib/config.js"),
    import("../lib/logger.js"),
    import("../inngest/client.js"),
    import("../inngest/serve.js"),
    import("../lib/activity/connect-activity-store.js"),
    import("../lib/email/mailer.js"),
    import("../lib/nats/shared-app-event-publisher.js"),
    import("../lib/reconcile/maintenance-services.js"),
  ]);
  const config = getConfig();
  const logger = createLogger(config.logLevel).child({ route: "inngest" });
  const inngest = createInngestClient(config.inngest, logger);

  let services: ReturnType<typeof connectMaintenanceServices> | undefined;
  const maintenance = () => {
    services ??= connectMaintenanceServices(config, logger, (events) => inngest.send(events)).catch((error: unknown) => {
      services = undefined;
      throw error;
    });
    return services;
  };
  let mailer: ReturnType<typeof createMailer> | undefined;

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
    schedule: {
      reconcileCron: config.reconcile.cron,
      purgeCron: config.retention.purgeCron,
      outboxCron: config.reconcile.outboxCron,
      deletedUserRetentionMs: config.retention.deletedUserRetentionMs,
      auditRetentionMs: config.retention.auditRetentionMs,
    },
    activitySchedule: { purgeCron: config.retention.activityPurgeCron, retentionMs: config.retention.activityRetentionMs },
  });
});
