import { createClerkClient } from "@clerk/backend";
import type { Connection } from "mongoose";
import { type AuthenticateRequest, createRequestAuthenticator } from "./auth/authenticate-request.js";
import { type ClerkUsersApi, createClerkUsersApi } from "./clerk/clerk-users-api.js";
import { type Config, getConfig } from "./config.js";
import { connectMongo } from "./db/connection.js";
import { waitUntil } from "@vercel/functions";
import { type AuditLog, createAuditLog } from "./audit/audit-log.js";
import { createInngestClient } from "./events/inngest-client.js";
import { createOutboxPublisher, type OutboxPublisher } from "./events/outbox.js";
import { createLogger, type Logger } from "./logger.js";
import { createRunReports, type RunReports } from "./reconcile/run-reports.js";
import { ProblemError } from "./http/problem.js";
import { withDeadline } from "./with-deadline.js";
import { type ApiRateLimiter, createApiRateLimiter } from "./rate-limit/api-rate-limiter.js";
import { createLastSeenRecorder, type LastSeenRecorder } from "./users/last-seen.js";
import { type UserModel, userModelFor } from "./users/user-model.js";
import { createUserResolver, type UserResolver } from "./users/user-resolver.js";
import { createUserStore, type UserStore } from "./users/user-store.js";

/** Everything the API routes use, built once per process from the configuration. */
export interface Services {
  config: Config;
  logger: Logger;
  connection: Connection;
  users: UserModel;
  store: UserStore;
  resolver: UserResolver;
  lastSeen: LastSeenRecorder;
  clerkUsers: ClerkUsersApi;
  authenticate: AuthenticateRequest;
  rateLimiter: ApiRateLimiter;
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
    store,
    clerkUsers,
    resolver: createUserResolver({ users, store, clerk: clerkUsers, logger, afterChange: publishLater }),
    audit,
    outbox,
    publishLater,
    lastSeen: createLastSeenRecorder(users, config.api.lastSeenIntervalMs),
    authenticate: createRequestAuthenticator(config.clerk, clerkClient),
    rateLimiter: createApiRateLimiter({ ...config.api.rateLimit, logger }),
    async sendEvent(event) {
      try {
        await withDeadline(inngest.send(event), config.inngest.sendTimeoutMs, "sending to Inngest");
      } catch (error) {
        logger.error({ err: error, event: event.name }, "Inngest did not take the event");
        throw new ProblemError("eventBusUnavailable", { headers: { "retry-after": "5" } });
      }
    },
    reports: createRunReports(connection),
  };
}

/** The process's services from its environment (see lib/get-services.ts, which loads this lazily). */
export function createServicesFromEnvironment(): Promise<Services> {
  return createServices(getConfig());
}
