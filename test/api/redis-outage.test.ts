import { beforeAll, describe, expect, it } from "vitest";
import { meRoute } from "../../api/me/index.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { useTestDatabase } from "../support/mongo.js";
import { startRedisServer } from "../support/redis-server.js";

let redis: Awaited<ReturnType<typeof startRedisServer>>;
beforeAll(async () => {
  redis = await startRedisServer();
  return () => redis.stop();
});
const db = useTestDatabase();
const api = useTestApi(db, () => ({ REDIS_URL: redis.url, RATE_LIMIT_PER_USER_PER_MINUTE: "50" }));
let me: Awaited<ReturnType<typeof api.serve>>;
beforeAll(async () => {
  me = await api.serve(meRoute);
});

describe("the API with Redis-backed rate limits (a real redis-server)", () => {
  it("keeps serving when Redis is stopped mid-test, and limits through Redis again once it is back", async () => {
    const snapshot = toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_r", updatedAt: 1 })));
    await api.state.services.store.apply({ kind: "upsert", userId: "user_r", snapshot });

    const before = await me("/api/me", { as: "user_r" });
    expect(before.status).toBe(200);
    expect(before.headers.get("ratelimit-remaining")).toBe("49");

    await redis.stop();
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      const during = await me("/api/me", { as: "user_r" });
      expect(during.status).toBe(200);
      expect(during.headers.get("ratelimit-limit")).toBe("50");
      expect(performance.now() - started).toBeLessThan(1_000);
    }

    // The restarted Redis is empty, so its first count is 49; the in-memory fallback has already counted 6.
    await redis.start();
    await expect
      .poll(async () => (await me("/api/me", { as: "user_r" })).headers.get("ratelimit-remaining"), { timeout: 10_000, interval: 200 })
      .toBe("49");
    expect((await me("/api/me", { as: "user_r" })).headers.get("ratelimit-remaining")).toBe("48");
  });
});
