import { createClerkClient } from "@clerk/backend";
import type { Connection } from "mongoose";
import { type ClerkUsersApi, createClerkUsersApi } from "./clerk/clerk-users-api.js";
import type { Config } from "./config.js";
import { connectMongo } from "./db/connection.js";
import { waitUntil } from "@vercel/functions";
import { type ActivityModel, activityModelFor } from "./activity/activity-model.js";
import { type AuditLog, createAuditLog } from "./audit/audit-log.js";
import { createInngestClient, sendOrFailFast } from "./events/inngest-client.js";
import { createOutboxPublisher, type OutboxPublisher } from "./events/outbox.js";
import { createLogger, type Logger } from "./logger.js";
import { createRunReports, type RunReports } from "./reconcile/run-reports.js";
import { ProblemError } from "./http/problem.js";
import { withDeadline } from "./with-deadline.js";
import { createLastSeenRecorder, type LastSeenRecorder } from "./users/last-seen.js";
import { type UserModel, userModelFor } from "./users/user-model.js";
import { createUserResolver, type UserResolver } from "./users/user-resolver.js";
import { createUserStore, type UserStore } from "./users/user-store.js";

/**
 * Everything the API routes use once a caller is authenticated (see lib/http/request-gate.ts
 * for what runs before), built once per process from the configuration.
 */
export interface Services {
  config: Config;
  logger: Logger;
  connection: Connection;
  users: UserModel;
  /** Sign-in activity (`session_activity`). */
  activity: ActivityModel;
  store: UserStore;
  resolver: UserResolver;
  lastSeen: LastSeenRecorder;
  clerkUsers: ClerkUsersApi;
  /** Sends an event to Inngest (admin triggers); rejects if Inngest did not take it. */
  sendEvent: (event: { name: string; data: Record<string, unknown>; id?: string }) => Promise<void>;
  reports: RunReports;
  audit: AuditLog;
  outbox: OutboxPublisher;
  /** Publishes a user's pending app events after the response (waitUntil on Vercel). */
  publishLater: (userId: string) => void;
}

export async function createServices(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Services> {
  const connection = await connectMongo(config.mongo);
  const users = userModelFor(connection);
  const audit = createAuditLog(connection);
  const store = createUserStore(users, { audit });
  const clerkClient = createClerkClient({
    secretKey: config.clerk.secretKey,
    publishableKey: config.clerk.publishableKey,
    jwtKey: config.clerk.jwtKey,
    apiUrl: config.clerk.apiUrl,
    telemetry: { disabled: true },
  });
  const clerkUsers = createClerkUsersApi(clerkClient);
  const inngest = createInngestClient(config.inngest, logger);
  const outbox = createOutboxPublisher(users, (events) => withDeadline(inngest.send(events), config.inngest.sendTimeoutMs, "sending to Inngest"));
  const publishLater = (userId: string) =>
    void waitUntil(outbox.publish([userId]).catch((error: unknown) => logger.warn({ err: error, userId }, "app events left for the outbox sweep")));
  return {
    config,
    logger,
    connection,
    users,
    activity: activityModelFor(connection),
    store,
    clerkUsers,
    resolver: createUserResolver({ users, store, clerk: clerkUsers, logger, afterChange: publishLater }),
    audit,
    outbox,
    publishLater,
    lastSeen: createLastSeenRecorder(users, config.api.lastSeenIntervalMs),
    async sendEvent(event) {
      try {
        await sendOrFailFast(inngest, event, { deadlineMs: config.inngest.apiSendTimeoutMs });
      } catch (error) {
        logger.error({ err: error, event: event.name }, "Inngest did not take the event");
        throw new ProblemError("eventBusUnavailable", { headers: { "retry-after": "5" } });
      }
    },
    reports: createRunReports(connection),
  };
}
