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
    { createMailer },
    { sharedAppEventPublisher },
    { createSyncCore },
  ] = await Promise.all([
    import("../lib/config.js"),
    import("../lib/logger.js"),
    import("../inngest/client.js"),
    import("../inngest/serve.js"),
    import("../lib/email/mailer.js"),
    import("../lib/nats/shared-app-event-publisher.js"),
    import("../lib/sync-core.js"),
  ]);
  const config = getConfig();
  const logger = createLogger(config.logLevel).child({ route: "inngest" });
  // Events from another Clerk instance are refused and audited (CLERK_INSTANCE_ID; `maintenance` is only called when a function runs).
  const inngest = createInngestClient(config.inngest, logger, {
    clerkInstance: { expectedInstanceId: config.clerk.instanceId, audit: async () => (await maintenance()).audit },
  });

  // The sync core connects with the first run that needs it; a failed connect is retried by the next.
  let services: ReturnType<typeof createSyncCore> | undefined;
  const maintenance = () => {
    services ??= createSyncCore(config, { logger, sendEvents: (events) => inngest.send(events) }).catch((error: unknown) => {
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
    activity: async () => (await maintenance()).activityStore,
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
