import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/logger.js";
import { createApiRateLimiter, type ApiRateLimiter, type ApiRateLimiterOptions, type RateLimitRule } from "../../../lib/rate-limit/api-rate-limiter.js";
import { setRateLimitHeaders } from "../../../lib/rate-limit/rate-limit-headers.js";
import { serveHandler } from "../../support/http.js";
import { redisPassword, startRedisServer, waitFor } from "../../support/redis-server.js";

const PASSWORD = redisPassword;
const generous: RateLimitRule = { points: 1_000, durationSeconds: 60 };

let keyCounter = 0;
const nextIp = () => `198.51.100.${++keyCounter}`;
const nextUser = () => `user_rl_${++keyCounter}`;

/** A pino logger writing to an array, so tests can read what was logged. */
function logSink() {
  const raw: string[] = [];
  const logger = createLogger("debug", { write: (line: string) => void raw.push(line) });
  const entries = () => raw.map((line) => JSON.parse(line) as { level: number; msg: string; reason?: string });
  return {
    logger,
    raw,
    warnings: () => entries().filter((entry) => entry.level === 40),
    infos: () => entries().filter((entry) => entry.level === 30),
  };
}

const openLimiters: ApiRateLimiter[] = [];
function limiter(options: Partial<ApiRateLimiterOptions> = {}): ApiRateLimiter {
  const created = createApiRateLimiter({ perIp: generous, perUser: generous, logger: logSink().logger, ...options });
  openLimiters.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(openLimiters.splice(0).map((open) => open.close()));
});

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

/** True when a point consumed through `a` is seen by `b`, i.e. both count in the same Redis. */
async function countsAreShared(a: ApiRateLimiter, b: ApiRateLimiter, points: number): Promise<boolean> {
  const ip = nextIp();
  await a.consume({ ip, userId: null });
  const seenByB = await b.consume({ ip, userId: null });
  return seenByB.remaining === points - 2;
}


describe("API rate limiter on Redis", () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  // A failed outage test must not leave Redis down for the next one.
  beforeEach(() => redis.start());

  it("refuses an IP once its points are spent, whichever users it signs in as", async () => {
    const rl = limiter({ redisUrl: redis.url, perIp: { points: 3, durationSeconds: 60 } });
    const ip = nextIp();

    for (const remaining of [2, 1, 0]) {
      expect(await rl.consume({ ip, userId: nextUser() })).toEqual({ allowed: true, limit: 3, remaining, resetSeconds: 60 });
    }
    const refused = await rl.consume({ ip, userId: nextUser() });

    expect(refused).toMatchObject({ allowed: false, limit: 3, remaining: 0, blockedBy: "ip" });
    expect(refused.resetSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.resetSeconds).toBeLessThanOrEqual(60);
    expect((await rl.consume({ ip: nextIp(), userId: null })).allowed).toBe(true);
  });

  it("refuses a user once their points are spent, from whichever IP, and leaves other users alone", async () => {
    const rl = limiter({ redisUrl: redis.url, perUser: { points: 2, durationSeconds: 30 } });
    const user = nextUser();

    expect((await rl.consume({ ip: nextIp(), userId: user })).allowed).toBe(true);
    expect((await rl.consume({ ip: nextIp(), userId: user })).allowed).toBe(true);
    const refused = await rl.consume({ ip: nextIp(), userId: user });

    expect(refused).toMatchObject({ allowed: false, limit: 2, remaining: 0, blockedBy: "user" });
    expect((await rl.consume({ ip: nextIp(), userId: nextUser() })).allowed).toBe(true);
    expect((await rl.consume({ ip: nextIp(), userId: null })).allowed).toBe(true);
  });

  it("reports the binding limit: the one with the fewest points left", async () => {
    const rl = limiter({ redisUrl: redis.url, perIp: { points: 10, durationSeconds: 60 }, perUser: { points: 3, durationSeconds: 20 } });
    const ip = nextIp();

    expect(await rl.consume({ ip, userId: nextUser() })).toEqual({ allowed: true, limit: 3, remaining: 2, resetSeconds: 20 });
    expect(await rl.consume({ ip, userId: null })).toEqual({ allowed: true, limit: 10, remaining: 8, resetSeconds: 60 });
  });

  it("keeps its counts in Redis under <prefix>:ip:<ip> and <prefix>:user:<id>", async () => {
    const rl = limiter({ redisUrl: redis.url });
    const [ip, user] = [nextIp(), nextUser()];
    await rl.consume({ ip, userId: user });
    await rl.consume({ ip, userId: null });

    const client = new Redis(redis.url);
    try {
      expect(await client.get(`rl:ip:${ip}`)).toBe("2");
      expect(await client.get(`rl:user:${user}`)).toBe("1");
    } finally {
      client.disconnect();
    }
  });

  it("shares counts between two instances on the same Redis, as serverless instances must", async () => {
    const rule = { points: 4, durationSeconds: 60 };
    const [a, b] = [limiter({ redisUrl: redis.url, perIp: rule }), limiter({ redisUrl: redis.url, perIp: rule })];
    const ip = nextIp();

    await a.consume({ ip, userId: null });
    await a.consume({ ip, userId: null });
    expect((await b.consume({ ip, userId: null })).remaining).toBe(1);
    expect((await b.consume({ ip, userId: null })).allowed).toBe(true);
    expect(await a.consume({ ip, userId: null })).toMatchObject({ allowed: false, blockedBy: "ip" });
  });

  it("keeps answering from memory within a second when Redis dies, warns once, and shares counts again once Redis is back", async () => {
    const rule = { points: 3, durationSeconds: 60 };
    const sink = logSink();
    const a = limiter({ redisUrl: redis.url, perIp: rule, logger: sink.logger });
    const b = limiter({ redisUrl: redis.url, perIp: rule });
    expect(await countsAreShared(a, b, rule.points)).toBe(true);

    await redis.stop();
    const ip = nextIp();
    const duringOutage = [];
    for (let i = 0; i < 4; i++) duringOutage.push(await timed(a.consume({ ip, userId: nextUser() })));

    for (const { ms } of duringOutage) expect(ms).toBeLessThan(1_000);
    // Fail open, yet still limited: this instance counts in its own memory meanwhile.
    expect(duringOutage.map(({ value }) => value.allowed)).toEqual([true, true, true, false]);
    await waitFor(() => sink.warnings().length > 0, "a warning about Redis");
    await sleep(800); // several failed reconnection attempts
    expect(sink.warnings()).toHaveLength(1);
    expect(sink.warnings()[0]?.msg).toMatch(/Redis unavailable/);

    await redis.start();
    await waitFor(() => countsAreShared(a, b, rule.points), "both instances to count in Redis again");
    expect(sink.infos().map((entry) => entry.msg)).toContain("Redis available again: rate limits are shared across instances");
    expect(sink.raw.join("\n")).not.toContain(PASSWORD);
  });

  it("keeps answering within a second while Redis is stalled, and shares counts again once it resumes", async () => {
    const rule = { points: 5, durationSeconds: 60 };
    const sink = logSink();
    const a = limiter({ redisUrl: redis.url, perIp: rule, logger: sink.logger });
    const b = limiter({ redisUrl: redis.url, perIp: rule });
    expect(await countsAreShared(a, b, rule.points)).toBe(true);

    redis.signal("SIGSTOP");
    try {
      const ip = nextIp();
      for (let i = 0; i < 3; i++) {
        const { value, ms } = await timed(a.consume({ ip, userId: nextUser() }));
        expect(ms).toBeLessThan(1_000);
        expect(value.allowed).toBe(true);
      }
      await waitFor(() => sink.warnings().length > 0, "a warning about the stalled Redis");
    } finally {
      redis.signal("SIGCONT");
    }

    await waitFor(() => countsAreShared(a, b, rule.points), "both instances to count in Redis again");
    expect(sink.warnings()).toHaveLength(1);
  });
});

describe("API rate limiter without Redis", () => {
  it("limits in process memory, each instance on its own, and logs no warning", async () => {
    const sink = logSink();
    const rule = { points: 2, durationSeconds: 10 };
    const [a, b] = [limiter({ perIp: rule, logger: sink.logger }), limiter({ perIp: rule, logger: sink.logger })];
    const ip = nextIp();

    expect(await a.consume({ ip, userId: null })).toEqual({ allowed: true, limit: 2, remaining: 1, resetSeconds: 10 });
    await a.consume({ ip, userId: null });
    expect(await a.consume({ ip, userId: null })).toMatchObject({ allowed: false, remaining: 0, blockedBy: "ip" });
    expect((await b.consume({ ip, userId: null })).remaining).toBe(1);
    expect(sink.warnings()).toEqual([]);
  });

  it("rejects a rule that is not a positive integer, naming the option", () => {
    expect(() => limiter({ perUser: { points: 0, durationSeconds: 60 } })).toThrow("perUser.points must be a positive integer");
    expect(() => limiter({ perIp: { points: 5, durationSeconds: 1.5 } })).toThrow("perIp.durationSeconds must be a positive integer");
  });
});

describe("rate limit headers", () => {
  async function serveLimited(perIp: RateLimitRule) {
    const rl = limiter({ perIp });
    return serveHandler(async (req, res) => {
      const decision = await rl.consume({ ip: req.socket.remoteAddress ?? "unknown", userId: null });
      setRateLimitHeaders(res, decision);
      res.writeHead(decision.allowed ? 200 : 429).end();
    });
  }

  it("an allowed response carries RateLimit-Limit, -Remaining and -Reset, and no Retry-After", async () => {
    const endpoint = await serveLimited({ points: 5, durationSeconds: 30 });
    try {
      const response = await fetch(endpoint.url);

      expect(response.status).toBe(200);
      expect(response.headers.get("ratelimit-limit")).toBe("5");
      expect(response.headers.get("ratelimit-remaining")).toBe("4");
      expect(response.headers.get("ratelimit-reset")).toBe("30");
      expect(response.headers.get("retry-after")).toBeNull();
    } finally {
      await endpoint.close();
    }
  });

  it("a refused response also carries Retry-After, equal to the reset in seconds", async () => {
    const endpoint = await serveLimited({ points: 1, durationSeconds: 30 });
    try {
      await fetch(endpoint.url);
      const response = await fetch(endpoint.url);

      expect(response.status).toBe(429);
      expect(response.headers.get("ratelimit-remaining")).toBe("0");
      const reset = Number(response.headers.get("ratelimit-reset"));
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(30);
      expect(response.headers.get("retry-after")).toBe(String(reset));
    } finally {
      await endpoint.close();
    }
  });
});
