import { Redis } from "ioredis";
import type { Logger } from "pino";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { withDeadline } from "../with-deadline.js";

export interface RateLimitRule {
  points: number;
  durationSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The binding limit (the one with the fewest remaining points). */
  limit: number;
  remaining: number;
  /** Seconds until that limit's window resets (integer, >= 0; >= 1 when !allowed). */
  resetSeconds: number;
  /** Which key blocked the request, when !allowed. */
  blockedBy?: "ip" | "user";
}

export interface ApiRateLimiter {
  /** Consumes one point for the IP and, when signed in, one for the user. */
  consume(keys: { ip: string; userId: string | null }): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export interface ApiRateLimiterOptions {
  /** When set: Redis-backed (shared by all serverless instances). */
  redisUrl?: string;
  perIp: RateLimitRule;
  perUser: RateLimitRule;
  /** Default "rl". */
  keyPrefix?: string;
  logger: Logger;
}

/** The longest a request waits on Redis before the in-memory limiter answers instead. */
const REDIS_TIMEOUT_MS = 300;

type KeyKind = "ip" | "user";
interface Outcome {
  kind: KeyKind;
  rule: RateLimitRule;
  allowed: boolean;
  res: RateLimiterRes;
}

/**
 * Per-IP and per-user limits. With a Redis URL the counts are shared by every instance; when Redis
 * is down, slow or not yet connected, each instance counts in its own memory (rate-limiter-flexible's
 * insurance limiter) so the API keeps serving with limits that still roughly apply.
 */
export function createApiRateLimiter(options: ApiRateLimiterOptions): ApiRateLimiter {
  assertRule("perIp", options.perIp);
  assertRule("perUser", options.perUser);
  const prefix = options.keyPrefix ?? "rl";
  const redis = options.redisUrl ? connectRedis(options.redisUrl, options.logger) : undefined;
  const limiterFor = (kind: KeyKind, rule: RateLimitRule): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix: `${prefix}:${kind}`, points: rule.points, duration: rule.durationSeconds });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis.client,
      keyPrefix: `${prefix}:${kind}`,
      points: rule.points,
      duration: rule.durationSeconds,
      insuranceLimiter: memory,
    });
  };
  const limits = {
    ip: { rule: options.perIp, limiter: limiterFor("ip", options.perIp) },
    user: { rule: options.perUser, limiter: limiterFor("user", options.perUser) },
  };

  async function consumeOne(kind: KeyKind, key: string): Promise<Outcome> {
    const { rule, limiter } = limits[kind];
    try {
      return { kind, rule, allowed: true, res: await limiter.consume(key) };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { kind, rule, allowed: false, res: rejection };
      throw rejection;
    }
  }

  return {
    async consume({ ip, userId }) {
      try {
        // Only with Redis: awaiting nothing would still cost every request a turn of the event loop's microtasks.
        if (redis) await redis.firstConnection;
        const outcomes = await Promise.all([
          consumeOne("ip", ip),
          ...(userId === null ? [] : [consumeOne("user", userId)]),
        ]);
        return toDecision(outcomes.toSorted(bindingFirst)[0]!);
      } catch (error) {
        // Fail open: a limiter fault must never turn into a failed API request.
        options.logger.error({ err: error }, "rate limiter failed; letting the request through");
        return { allowed: true, limit: options.perIp.points, remaining: options.perIp.points, resetSeconds: 0 };
      }
    },
    async close() {
      redis?.client.disconnect();
    },
  };
}

function connectRedis(url: string, logger: Logger) {
  const client = new Redis(url, {
    // connect() below then hands us the first connection's promise.
    lazyConnect: true,
    connectTimeout: 2_000,
    // Fail a command at once while disconnected, and give up on a silent one, so the insurance
    // limiter answers instead of the request waiting.
    enableOfflineQueue: false,
    commandTimeout: REDIS_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    // A stalled server (replies stop, the socket stays open) is dropped and reconnected.
    socketTimeout: 2_000,
    // Increments that already timed out and fell back to memory must not be replayed on reconnect.
    autoResendUnfulfilledCommands: false,
    // Reconnect forever, at most a second apart.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });

  // One warning per outage: ioredis reports every failed reconnection attempt. Its messages name
  // the host and port at most; the URL (which may hold a password) is never logged.
  let down = false;
  client.on("error", (error: Error) => {
    if (down) return;
    down = true;
    logger.warn({ reason: error.message }, "Redis unavailable: rate limits are counted per instance until it is back");
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info("Redis available again: rate limits are shared across instances");
  });

  // A cold start's first requests wait briefly for the connection rather than count in memory.
  const firstConnection = withDeadline(client.connect(), REDIS_TIMEOUT_MS, "connecting to Redis").catch(() => undefined);
  return { client, firstConnection };
}

/** Blocked outcomes first (the longest wait first), then the one with the fewest points left. */
function bindingFirst(a: Outcome, b: Outcome): number {
  return Number(a.allowed) - Number(b.allowed) || a.res.remainingPoints - b.res.remainingPoints || b.res.msBeforeNext - a.res.msBeforeNext;
}

function toDecision({ kind, rule, allowed, res }: Outcome): RateLimitDecision {
  const resetSeconds = Math.max(allowed ? 0 : 1, Math.ceil(res.msBeforeNext / 1_000));
  const decision: RateLimitDecision = { allowed, limit: rule.points, remaining: res.remainingPoints, resetSeconds };
  return allowed ? decision : { ...decision, blockedBy: kind };
}

function assertRule(name: string, rule: RateLimitRule): void {
  for (const field of ["points", "durationSeconds"] as const) {
    if (!Number.isInteger(rule[field]) || rule[field] < 1) {
      throw new TypeError(`${name}.${field} must be a positive integer, got ${String(rule[field])}`);
    }
  }
}
