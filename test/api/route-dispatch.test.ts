import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { meActivityRoute } from "../../api/me/_activity.js";
import { meExportRoute } from "../../api/me/_export.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { serveRoutesBySegment } from "../../lib/http/route.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { serveHandler } from "../support/http.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);
let server: Awaited<ReturnType<typeof serveHandler>>;
beforeAll(async () => {
  server = await serveHandler(serveRoutesBySegment({ activity: meActivityRoute, export: meExportRoute }, api.state.deps, "resource"));
});
beforeEach(async () => {
  await api.state.services.store.apply({ kind: "upsert", userId: "user_d", snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_d", updatedAt: 1 }))) });
});
afterAll(() => server.close());

const get = async (path: string) =>
  fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${await api.state.tokens.sign({ userId: "user_d" })}` } });

describe("several routes in one function (api/me/[resource].ts)", () => {
  it("picks the route by the last path segment", async () => {
    const activity = await get("/api/me/activity");
    expect(activity.status).toBe(200);
    expect(await activity.json()).toEqual({ data: [], nextCursor: null });
    const exported = await get("/api/me/export");
    expect(exported.headers.get("content-disposition")).toContain("account-export-user_d.json");
  });

  it("drops the copy of the segment Vercel adds as a query parameter, and only that", async () => {
    expect((await get("/api/me/activity?resource=activity")).status).toBe(200);
    const other = await get("/api/me/activity?resource=export");
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ type: "/problems/invalid-query", errors: ["resource: unknown query parameter"] });
  });

  it("answers 404 problem+json for a segment no route serves", async () => {
    const response = await get("/api/me/secrets");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});
