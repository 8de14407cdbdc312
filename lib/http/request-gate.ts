import { type AuthenticateRequest, createRequestAuthenticator } from "../auth/authenticate-request.js";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { type ApiRateLimiter, createApiRateLimiter } from "../rate-limit/api-rate-limiter.js";
import { type CorsPolicy, createCorsPolicy } from "./cors.js";

/**
 * What every API request passes before it may touch MongoDB: CORS, Clerk's token check
 * (networkless with `CLERK_JWT_KEY`) and rate limits. Building it opens no connection:
 * an anonymous request is answered from here, without MongoDB, Redis or Clerk's API, so a
 * database outage cannot turn a 401 into a 503 and anonymous traffic opens no pools.
 */
export interface RequestGate {
  config: Config;
  logger: Logger;
  cors: CorsPolicy;
  authenticate: AuthenticateRequest;
  /** Per-IP limit for requests without a valid token, counted in this instance's memory. */
  anonymousLimiter: ApiRateLimiter;
  /** Per-IP and per-user limits for signed-in requests (Redis when configured, connected on first use). */
  limiter(): ApiRateLimiter;
  close(): Promise<void>;
}

export async function createRequestGate(config: Config, logger: Logger): Promise<RequestGate> {
  const { rateLimit } = config.api;
  const anonymousLimiter = createApiRateLimiter({ perIp: rateLimit.perIp, perUser: rateLimit.perUser, keyPrefix: "rl-anon", logger });
  let shared: ApiRateLimiter | undefined;
  return {
    config,
    logger,
    cors: createCorsPolicy(config.api.corsAllowedOrigins),
    authenticate: await createRequestAuthenticator(config.clerk),
    anonymousLimiter,
    limiter: () => (shared ??= createApiRateLimiter({ ...rateLimit, logger })),
    async close() {
      await Promise.all([anonymousLimiter.close(), shared?.close()]);
    },
  };
}
