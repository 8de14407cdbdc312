import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../../support/api.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);

describe("the caller's user, as every request reads it", () => {
  it("is the stored document as it is, but for the outbox's pending app events", async () => {
    const { store, users, resolver } = api.state.services;
    await store.apply({ kind: "upsert", userId: "user_r", snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_r", updatedAt: 1_000, firstName: "Ada" }))) });
    const { outbox, ...stored } = (await users.findById("user_r").lean())!;
    expect(outbox).toHaveLength(1);

    const resolved = await resolver.resolve("user_r");
    expect(resolved).toEqual({ kind: "live", source: "database", user: stored });
    expect(api.state.clerk.calls).toEqual([]);
  });

  it("says a tombstoned user is deleted, without asking Clerk", async () => {
    await api.state.services.store.apply({ kind: "delete", userId: "user_gone", deletedAt: new Date(2_000), origin: { source: "fallback", sourceEventId: null } });
    expect(await api.state.services.resolver.resolve("user_gone")).toEqual({ kind: "deleted" });
    expect(api.state.clerk.calls).toEqual([]);
  });
});
