import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import { createUserStore } from "../../lib/users/user-store.js";
import { startClerkBackendApi } from "../support/clerk-backend-api.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { clerkMembership, clerkOrganization } from "../support/clerk-organization-fixtures.js";
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
  clerk.organizations.clear();
  clerk.memberships.clear();
  clerk.onList(undefined);
  clerk.hangListAt(undefined);
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

const syncEnv = () => ({
  PATH: process.env.PATH,
  MONGODB_URI: db.config.uri,
  MONGODB_DB_NAME: db.config.dbName,
  CLERK_SECRET_KEY: testSecretKey,
  CLERK_API_URL: clerk.url,
  RECONCILE_MAX_CLERK_REQUESTS_PER_10S: "900",
});

/** Runs `npm run sync`'s script in a child process, with only the environment it needs. */
function sync(...args: string[]) {
  return run(process.execPath, ["--import", "tsx", "scripts/sync.ts", ...args], {
    cwd: root,
    env: syncEnv(),
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

  it("resumes a run killed half-way (SIGKILL) from its checkpoint: same end result, no page served twice", async () => {
    // 2,500 users in Clerk (user_cli0, stored here, is no longer one of them): five pages of 500; the CLI checkpoints every two pages. The request for the
    // page at 2,000 is never answered, so the process is stuck there once 0-1,999 are written.
    clerk.users.clear();
    for (let index = 0; index < 2_500; index += 1) {
      const id = `user_kill${String(index).padStart(4, "0")}`;
      clerk.users.set(id, clerkUser({ id, createdAt: index, updatedAt: 10 }));
    }
    clerk.listServed.clear();
    clerk.hangListAt(2_000);
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/sync.ts"], { cwd: root, env: syncEnv(), stdio: "ignore" });
    const runs = db.connection().collection("reconciliation_runs");
    for (let waited = 0; !(await runs.findOne({ trigger: "cli", "progress.offset": 2_000 })); waited += 1) {
      if (waited > 600) throw new Error("the first run never reached its checkpoint at 2,000");
      await sleep(50);
    }
    child.kill("SIGKILL");
    await once(child, "exit");
    expect(await db.users().countDocuments({ _id: { $regex: /^user_kill/ } })).toBe(2_000);

    clerk.hangListAt(undefined);
    const resumed = await sync();
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming run cli-\S+ \(scan, offset 2000\)/);
    expect(resumed.stdout).toMatch(/reconciled in [\d.]+ s: scanned 2500, created 2500, updated 0, tombstoned 1, unchanged 0, failed 0/);
    // Every page answered once, across both processes (the one at 2,500 is the empty end of the list).
    expect([...clerk.listServed.entries()].sort(([a], [b]) => a - b)).toEqual([0, 500, 1_000, 1_500, 2_000, 2_500].map((offset) => [offset, 1]));
    expect(await db.users().countDocuments({ deletedAt: null })).toBe(2_500);
    expect(await runs.countDocuments({ trigger: "cli" })).toBe(1);
    expect(await runs.findOne({ trigger: "cli" })).toMatchObject({ status: "succeeded", counts: { scanned: 2_500, created: 2_500, tombstoned: 1 } });
  }, 60_000);

  it("--force rewrites users whose stored version is current (a mapping fix)", async () => {
    await db.users().updateOne({ _id: "user_cli0" }, { $set: { firstName: "Old mapping" } });
    expect((await sync()).stdout).toMatch(/created 6, updated 0/);
    const forced = await sync("--force");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/re-derived \(forced\) in [\d.]+ s: scanned 7, created 0, updated 7, tombstoned 0, unchanged 0, failed 0/);
    expect((await db.users().findById("user_cli0").lean())?.firstName).not.toBe("Old mapping");
  });

  it("--dry-run reports organization and membership drift too, and writes none", async () => {
    clerk.organizations.set("org_cli", clerkOrganization({ id: "org_cli", updatedAt: 5 }));
    clerk.memberships.set("org_cli", new Map([["user_cli1", clerkMembership({ id: "orgmem_cli", organizationId: "org_cli", userId: "user_cli1", updatedAt: 5 })]]));
    const result = await sync("--dry-run");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^drift: create organization org_cli$/m);
    expect(result.stdout).toMatch(/^drift: create membership org_cli:user_cli1$/m);
    expect(result.stdout).toMatch(/organizations: organizationsScanned 1, organizationsChanged 1, organizationsTombstoned 0, membershipsScanned 1, membershipsChanged 1/);
    expect(await db.connection().collection("organizations").countDocuments()).toBe(0);
    expect(await db.connection().collection("memberships").countDocuments()).toBe(0);
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
