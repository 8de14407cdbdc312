import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { createUserStore } from "../../lib/users/user-store.js";
import { startClerkBackendApi } from "../support/clerk-backend-api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { testSecretKey } from "../support/clerk-tokens.js";
import { useTestDatabase } from "../support/mongo.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const db = useTestDatabase();
let clerk: Awaited<ReturnType<typeof startClerkBackendApi>>;
beforeAll(async () => {
  clerk = await startClerkBackendApi(testSecretKey);
});
afterAll(() => clerk.close());
beforeEach(async () => {
  clerk.users.clear();
  for (let index = 0; index < 7; index += 1) {
    const id = `user_cli${index}`;
    clerk.users.set(id, clerkUser({ id, createdAt: index, updatedAt: 10 }));
  }
  await createUserStore(db.users()).apply({
    kind: "upsert",
    userId: "user_cli0",
    snapshot: toUserSnapshot(clerkUserSchema.parse(clerkUser({ id: "user_cli0", createdAt: 0, updatedAt: 10 }))),
  });
});

/** Runs `npm run sync`'s script in a child process, with only the environment it needs. */
function sync(...args: string[]) {
  return run(process.execPath, ["--import", "tsx", "scripts/sync.ts", ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      MONGODB_URI: db.config.uri,
      MONGODB_DB_NAME: db.config.dbName,
      CLERK_SECRET_KEY: testSecretKey,
      CLERK_API_URL: clerk.url,
      RECONCILE_MAX_CLERK_REQUESTS_PER_10S: "900",
    },
  }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe("npm run sync (backfill / manual reconciliation)", () => {
  it("--dry-run prints the drift and writes nothing", async () => {
    const result = await sync("--dry-run");
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^drift: create user_cli\d$/gm)).toHaveLength(6);
    expect(result.stdout).toMatch(/dry run \(nothing written\) in [\d.]+ s: scanned 7, created 6, updated 0, tombstoned 0, unchanged 1, failed 0/);
    expect(result.stderr).toMatch(/scan \[#+\] 7\/7/);
    expect(await db.users().countDocuments()).toBe(1);
  });

  it("imports the missing users, records a run report, and is idempotent", async () => {
    const first = await sync();
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/reconciled in [\d.]+ s: scanned 7, created 6/);
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(7);
    expect(await db.connection().collection("reconciliation_runs").countDocuments({ trigger: "cli", status: "succeeded" })).toBe(1);
    expect((await sync()).stdout).toMatch(/created 0, updated 0, tombstoned 0, unchanged 7, failed 0/);
  });

  it("leaves an audit entry for every change it repairs, as every other write path does", async () => {
    clerk.users.set("user_cli0", clerkUser({ id: "user_cli0", createdAt: 0, updatedAt: 20, firstName: "Renamed" }));
    expect((await sync()).code).toBe(0);
    const audit = db.connection().collection("sync_audit");
    const records = await audit.find({ source: "reconcile", decision: "applied" }).toArray();
    expect(records.map((record) => record.userId).sort()).toEqual(["user_cli0", "user_cli1", "user_cli2", "user_cli3", "user_cli4", "user_cli5", "user_cli6"]);
    expect(records.every((record) => typeof record.sourceEventId === "string" && record.sourceEventId.startsWith("cli-"))).toBe(true);
  });

  it("status prints the sync's health: degraded before any webhook, stalled (exit 1) once webhooks stopped", async () => {
    const fresh = await sync("status");
    expect(fresh.code).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ status: "degraded", reasons: expect.arrayContaining(["degraded: no verified Clerk webhook yet"]) });
    await db.connection().collection("sync_heartbeats").insertOne({ _id: "webhook-verified" as never, at: new Date(Date.now() - 3 * 86_400_000) });
    const stopped = await sync("status");
    expect(stopped.code).toBe(1);
    expect(JSON.parse(stopped.stdout).status).toBe("stalled");
  });

  it("exits non-zero when a user fails", async () => {
    clerk.users.set("user_broken", { id: "user_broken", created_at: 99 } as never);
    const result = await sync();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/failed 1/);
  });

  it("exits 2 naming a missing setting, and on an unknown flag", async () => {
    const missing = await run(process.execPath, ["--import", "tsx", "scripts/sync.ts"], { cwd: root, env: { PATH: process.env.PATH } }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(missing).toMatchObject({ code: 2 });
    expect((missing as { stderr: string }).stderr).toMatch(/MONGODB_URI is required/);
    expect((await sync("--dry-rum")).code).toBe(2);
  });
});
