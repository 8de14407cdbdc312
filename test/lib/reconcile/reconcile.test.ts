import type { UserJSON } from "@clerk/backend";
import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { createClerkUserDirectory } from "../../../lib/clerk/clerk-user-directory.js";
import { createLogger } from "../../../lib/logger.js";
import { type ReconcileDeps, scanChunk } from "../../../lib/reconcile/reconcile-chunks.js";
import { runReconciliation } from "../../../lib/reconcile/run-reconciliation.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { createUserStore } from "../../../lib/users/user-store.js";
import { useClerkBackendApi } from "../../support/clerk-backend-api.js";
import { clerkUser } from "../../support/clerk-fixtures.js";
import { testSecretKey } from "../../support/clerk-tokens.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const clerkApi = useClerkBackendApi(testSecretKey);

const pageSize = 10;
function deps(): ReconcileDeps {
  return {
    directory: createClerkUserDirectory({ apiUrl: clerkApi().url, secretKey: testSecretKey, maxRequestsPer10Seconds: 10_000 }),
    store: createUserStore(db.users()),
    users: db.users(),
    logger: createLogger("silent"),
  };
}
const reconcile = () => runReconciliation(deps(), { pageSize, pagesPerChunk: 2 });

let created = 0;
function inClerk(id: string, updatedAt = 1_000, extra: Partial<Parameters<typeof clerkUser>[0]> = {}): UserJSON {
  created += 1;
  const user = clerkUser({ id, createdAt: created, updatedAt, ...extra });
  clerkApi().users.set(id, user);
  return user;
}
async function stored(user: UserJSON) {
  await createUserStore(db.users()).apply({ kind: "upsert", userId: user.id, snapshot: toUserSnapshot(clerkUserSchema.parse(user)) });
}
const ids = (count: number, prefix = "user_r") => Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(4, "0")}`);

describe("reconciliation against Clerk's user list", () => {
  it("creates missing users, updates stale ones, leaves unchanged ones unwritten, tombstones deleted ones", async () => {
    for (const id of ids(25)) await stored(inClerk(id));
    const staleInDb = inClerk("user_stale", 1_000);
    await stored(staleInDb);
    clerkApi().users.set("user_stale", { ...staleInDb, updated_at: 2_000, first_name: "Renamed" });
    inClerk("user_missing");
    await stored(clerkUser({ id: "user_gone", updatedAt: 1_000 }));
    const before = await db.users().findById("user_r0003").lean();

    const counts = await reconcile();
    expect(counts).toEqual({ scanned: 27, created: 1, updated: 1, tombstoned: 1, unchanged: 25, failed: 0 });
    expect((await db.users().findById("user_stale").lean())?.firstName).toBe("Renamed");
    expect(await db.users().findById("user_missing").lean()).toMatchObject({ email: "user_missing@example.com" });
    expect((await db.users().findById("user_gone").lean())?.deletedAt).toBeInstanceOf(Date);
    expect(await db.users().findById("user_r0003").lean()).toEqual(before);
    expect(clerkApi().calls.filter((call) => call.path === "/v1/users/user_gone")).toHaveLength(1);
  });

  it("is idempotent: a second run changes nothing", async () => {
    for (const id of ids(12)) inClerk(id);
    await reconcile();
    expect(await reconcile()).toEqual({ scanned: 12, created: 0, updated: 0, tombstoned: 0, unchanged: 12, failed: 0 });
  });

  it("backs off on 429 using Retry-After, then carries on", async () => {
    for (const id of ids(5)) inClerk(id);
    clerkApi().rateLimitNext(2, 1);
    const started = Date.now();
    expect((await reconcile()).created).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  it("never tombstones a live user that a deletion during the scan shifted out of the pages", async () => {
    for (const id of ids(40)) await stored(inClerk(id));
    // After the first page is read, the first three users are deleted: offsets shift left by
    // three, and users 10–12 are never listed. They are candidates, not tombstones.
    let deleted = false;
    clerkApi().onList((offset) => {
      if (offset === pageSize && !deleted) {
        deleted = true;
        for (const id of ids(3)) clerkApi().users.delete(id);
      }
    });
    const counts = await reconcile();
    expect(counts.tombstoned).toBe(3);
    const tombstoned = (await db.users().find({ deletedAt: { $ne: null } }, { _id: 1 }).lean()).map((doc) => doc._id).sort();
    expect(tombstoned).toEqual(ids(3));
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(37);
  });

  it("picks up a user created during the scan, this run or the next", async () => {
    for (const id of ids(30)) inClerk(id);
    clerkApi().onList((offset) => {
      if (offset === pageSize) inClerk("user_new_midscan");
    });
    const first = await reconcile();
    clerkApi().onList(undefined);
    const second = await reconcile();
    expect(first.created + second.created).toBe(31);
    const doc = await db.users().findById("user_new_midscan").lean();
    expect(doc?.email).toBe("user_new_midscan@example.com");
    expect(doc?.deletedAt ?? null).toBeNull();
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(31);
  });

  it("counts an unusable user as failed and keeps going", async () => {
    inClerk("user_ok");
    clerkApi().users.set("user_bad", { id: "user_bad", created_at: 999_999 } as unknown as UserJSON);
    const counts = await reconcile();
    expect(counts).toMatchObject({ scanned: 2, created: 1, failed: 1 });
  });

  it("a dry run reports the drift and writes nothing", async () => {
    inClerk("user_a");
    await stored(clerkUser({ id: "user_b", updatedAt: 1 }));
    const drift: unknown[] = [];
    const counts = await runReconciliation(deps(), { pageSize, dryRun: true, onDrift: (items) => drift.push(...items) });
    expect(counts).toMatchObject({ created: 1, tombstoned: 1 });
    expect(drift).toEqual([
      { userId: "user_a", change: "create" },
      { userId: "user_b", change: "tombstone" },
    ]);
    expect(await db.users().findById("user_a").lean()).toBeNull();
    expect((await db.users().findById("user_b").lean())?.deletedAt).toBeUndefined();
  });

  it("keeps each chunk bounded: a scan chunk reads at most pagesPerChunk pages", async () => {
    for (const id of ids(35)) inClerk(id);
    const chunk = await scanChunk(deps(), 0, { pageSize, pagesPerChunk: 2 });
    expect(chunk.counts.scanned).toBe(20);
    expect(chunk.next).toBe(20);
  });
});
