import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { meExportRoute } from "../../api/me/_export.js";
import { meRoute } from "../../api/me/index.js";
import { userByIdRoute } from "../../api/users/[id].js";
import { usersRoute } from "../../api/users/index.js";
import { ApiError, createApiClient, type UserView } from "../../client/api-client.js";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { useTestApi } from "../support/api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const api = useTestApi(db);
let baseUrl: string;
beforeAll(async () => {
  baseUrl = await api.serveApp([
    [/^\/api\/me\/export$/, meExportRoute],
    [/^\/api\/me$/, meRoute],
    [/^\/api\/users\/[^/]+$/, userByIdRoute],
    [/^\/api\/users$/, usersRoute],
  ]);
});

const clientFor = (userId: string | null, metadata?: Record<string, unknown>) =>
  createApiClient({ baseUrl, getToken: async () => (userId ? api.state.tokens.sign({ userId, metadata }) : null) });

async function store(id: string) {
  await api.state.services.store.apply({ kind: "upsert", userId: id, snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id, updatedAt: 1 }))) });
}

describe("the typed frontend client, against the real routes", () => {
  it("reads and edits the caller's profile with the token from getToken()", async () => {
    await store("user_c");
    const client = clientFor("user_c");
    const me = await client.getMe();
    expectTypeOf(me).toEqualTypeOf<UserView>();
    expect(me.id).toBe("user_c");
    expect((await client.updateMe({ displayName: "Cee", preferences: { theme: "light" } })).profile).toEqual({
      displayName: "Cee",
      preferences: { theme: "light" },
    });
    const exported = await client.exportMe();
    expect(exported.version).toBe(1);
    expect(exported.user).toMatchObject({ id: "user_c", profile: { displayName: "Cee" } });
  });

  it("turns problem+json into ApiError with the stable type", async () => {
    const error = await clientFor(null).getMe().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).problem.type).toBe("/problems/unauthenticated");
  });

  it("lists users for an admin with typed query parameters", async () => {
    await store("user_c");
    await store("user_d");
    const page = await clientFor("user_c", { role: "admin" }).listUsers({ q: "user_d", limit: 5 });
    expect(page.data.map((user) => user.id)).toEqual(["user_d"]);
    expect(page.nextCursor).toBeNull();
    expect((await clientFor("user_c", { role: "admin" }).getUser("user_d")).id).toBe("user_d");
  });

  it("deletes the account", async () => {
    await store("user_c");
    api.state.clerk.users.set("user_c", clerkUser({ id: "user_c", updatedAt: 1 }));
    expect(await clientFor("user_c").deleteMe()).toEqual({ deleted: true, clerk: "deleted", localData: "tombstoned" });
  });
});
