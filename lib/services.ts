import { createClerkClient } from "@clerk/backend";
import type { Connection } from "mongoose";
import { type AuthenticateRequest, createRequestAuthenticator } from "./auth/authenticate-request.js";
import { type ClerkUsersApi, createClerkUsersApi } from "./clerk/clerk-users-api.js";
import { type Config, getConfig } from "./config.js";
import { connectMongo } from "./db/connection.js";
import { createLogger, type Logger } from "./logger.js";
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
}

export async function createServices(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Services> {
  const connection = await connectMongo(config.mongo);
  const users = userModelFor(connection);
  const store = createUserStore(users);
  const clerkClient = createClerkClient({
    secretKey: config.clerk.secretKey,
    publishableKey: config.clerk.publishableKey,
    jwtKey: config.clerk.jwtKey,
    apiUrl: config.clerk.apiUrl,
  });
  const clerkUsers = createClerkUsersApi(clerkClient);
  return {
    config,
    logger,
    connection,
    users,
    store,
    clerkUsers,
    resolver: createUserResolver({ users, store, clerk: clerkUsers, logger }),
    lastSeen: createLastSeenRecorder(users, config.api.lastSeenIntervalMs),
    authenticate: createRequestAuthenticator(config.clerk, clerkClient),
    rateLimiter: createApiRateLimiter({ ...config.api.rateLimit, logger }),
  };
}

let pending: Promise<Services> | undefined;

/** The process's services; a failed start (database down) is retried on the next call. */
export function getServices(): Promise<Services> {
  pending ??= createServices(getConfig()).catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}
