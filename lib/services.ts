import { createClerkClient } from "@clerk/backend";
import { waitUntil } from "@vercel/functions";
import { type ClerkUsersApi, createClerkUsersApi } from "./clerk/clerk-users-api.js";
import type { Config } from "./config.js";
import { EventBusUnavailableError } from "./events/event-bus-unavailable-error.js";
import { createInngestClient, sendOrFailFast } from "./events/inngest-client.js";
import { createLogger, type Logger } from "./logger.js";
import { createSyncCore, type SyncCore } from "./sync-core.js";
import { createLastSeenRecorder, type LastSeenRecorder } from "./users/last-seen.js";
import { createUserResolver, type UserResolver } from "./users/user-resolver.js";
import { withDeadline } from "./with-deadline.js";

/**
 * Everything the API routes use once a caller is authenticated (see lib/http/request-gate.ts
 * for what runs before): the sync core, plus what only the API needs (the just-in-time
 * resolver, Clerk's Backend API, admin event sends). Built once per process.
 */
export interface Services extends SyncCore {
  config: Config;
  resolver: UserResolver;
  lastSeen: LastSeenRecorder;
  clerkUsers: ClerkUsersApi;
  /** Sends an event to Inngest for a waiting admin; throws `EventBusUnavailableError` fast if Inngest does not take it. */
  sendEvent: (event: { name: string; data: Record<string, unknown>; id?: string }) => Promise<void>;
  /** Publishes a user's pending app events after the response (waitUntil on Vercel). */
  publishLater: (userId: string) => void;
}

export async function createServices(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Services> {
  const inngest = createInngestClient(config.inngest, logger);
  const core = await createSyncCore(config, {
    logger,
    sendEvents: (events) => withDeadline(inngest.send(events), config.inngest.sendTimeoutMs, "sending to Inngest"),
  });
  const clerkUsers = createClerkUsersApi(
    createClerkClient({
      secretKey: config.clerk.secretKey,
      publishableKey: config.clerk.publishableKey,
      jwtKey: config.clerk.jwtKey,
      apiUrl: config.clerk.apiUrl,
      telemetry: { disabled: true },
    }),
  );
  const publishLater = (userId: string) =>
    void waitUntil(core.outbox.publish([userId]).catch((error: unknown) => logger.warn({ err: error, userId }, "app events left for the outbox sweep")));
  return {
    ...core,
    config,
    clerkUsers,
    resolver: createUserResolver({ users: core.users, store: core.store, clerk: clerkUsers, logger, afterChange: publishLater }),
    publishLater,
    lastSeen: createLastSeenRecorder(core.users, config.api.lastSeenIntervalMs),
    async sendEvent(event) {
      try {
        await sendOrFailFast(inngest, event, { deadlineMs: config.inngest.apiSendTimeoutMs });
      } catch (error) {
        logger.error({ err: error, event: event.name }, "Inngest did not take the event");
        throw new EventBusUnavailableError(event.name, { cause: error });
      }
    },
  };
}
