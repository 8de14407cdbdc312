import { beforeAll, describe, expect, it } from "vitest";
import { meRoute } from "../../api/me/index.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db, { RATE_LIMIT_PER_USER_PER_MINUTE: "3", RATE_LIMIT_PER_IP_PER_MINUTE: "5" });
let me: Awaited<ReturnType<typeof api.serve>>;
beforeAll(async () => {
  me = await api.serve(meRoute);
});

async function store(id: string) {
  const snapshot = toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1_000 })));
  await api.state.services.store.apply({ kind: "upsert", userId: id, snapshot });
}

describe("rate limiting on the API (in-process when REDIS_URL is unset)", () => {
  it("limits each user, with RateLimit-* headers and a 429 problem+json", async () => {
    await store("user_rl");
    const headers = { "x-forwarded-for": "198.51.100.1" };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i += 1) {
      last = await me("/api/me", { as: "user_rl", headers });
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get("ratelimit-limit")).toBe("3");
        expect(last.headers.get("ratelimit-remaining")).toBe("2");
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last?.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await last?.json()).toMatchObject({ type: "/problems/rate-limited", status: 429 });
  });

  it("limits each IP, signed in or not, so bad tokens cannot be tried without limit", async () => {
    const headers = { "x-forwarded-for": "198.51.100.2" };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await me("/api/me", { token: "not-a-token", headers })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it("counts another user's requests separately", async () => {
    await store("user_other");
    const response = await me("/api/me", { as: "user_other", headers: { "x-forwarded-for": "198.51.100.3" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("ratelimit-remaining")).toBe("2");
  });
});
