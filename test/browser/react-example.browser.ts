import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose, { type Connection } from "mongoose";
import { type Browser, type BrowserContext, chromium, type Page, type Response } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { activityModelFor } from "../../lib/activity/activity-model.js";
import { createActivityStore } from "../../lib/activity/activity-store.js";
import { userModelFor } from "../../lib/users/user-model.js";
import { startClerkBackendApi } from "../support/clerk-backend-api.js";
import { clerkUser, testSigningSecret } from "../support/clerk-fixtures.js";
import { createTokenFactory, testPublishableKey, testSecretKey } from "../support/clerk-tokens.js";
import { freePort } from "../support/server-process.js";
import { standInBindings, type StandInSession } from "./clerk-stand-in-protocol.js";
import { buildExampleApp, repoRoot, serveStatic, startDevServer, startMongoGate } from "./servers.js";

/**
 * The React example (examples/react) in headless Chromium, against the API as `npm run dev`
 * serves it, on another origin: http://127.0.0.1:<app> calls http://localhost:<api>, with the
 * real MongoDB-wire server, Clerk's Backend API stood in, and Clerk's React SDK replaced by a
 * stand-in that hands the app RS256 session tokens the API verifies with CLERK_JWT_KEY.
 * A second copy of the app, on an origin the API does not allow, must be refused.
 * Screenshots of every step go to test-results/browser/.
 */

const users = {
  ada: { id: "user_browser_ada", firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
  busy: { id: "user_browser_busy", firstName: "Busy", lastName: "Bee", email: "busy@example.com" },
  stranger: { id: "user_browser_stranger", firstName: "Stan", lastName: "Ger", email: "stranger@example.com" },
  http: { id: "user_browser_http", firstName: "Hugh", lastName: "Tee", email: "http@example.com" },
};
type TestUser = (typeof users)[keyof typeof users];
/** Low enough to reach through the UI, high enough for Ada's whole visit (about 15 requests). */
const perUserPerMinute = 25;
const seededActivity = 25;
const screenshotDir = join(repoRoot, "test-results", "browser");

let clerk: Awaited<ReturnType<typeof startClerkBackendApi>>;
let tokens: Awaited<ReturnType<typeof createTokenFactory>>;
let mongoGate: Awaited<ReturnType<typeof startMongoGate>>;
let api: Awaited<ReturnType<typeof startDevServer>>;
let app: Awaited<ReturnType<typeof serveStatic>>;
let foreignApp: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;
let db: Connection;
let workDir: string;
const dbName = `cms_test_${inject("runId")}_browser`;

/** Who signs in on each page, and whether the page's tokens are good. */
const pageAuth = new Map<Page, { user: TestUser; tokens: "valid" | "expired"; signIns: number }>();

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "cms-browser-"));
  await rm(screenshotDir, { recursive: true, force: true });
  await mkdir(screenshotDir, { recursive: true });
  const [apiPort, appPort, foreignPort, gatePort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const appOrigin = `http://127.0.0.1:${appPort}`;

  clerk = await startClerkBackendApi(testSecretKey);
  for (const user of Object.values(users)) {
    clerk.users.set(
      user.id,
      clerkUser({ id: user.id, updatedAt: Date.now(), firstName: user.firstName, lastName: user.lastName, emails: [user.email] }),
    );
  }
  tokens = await createTokenFactory();
  db = await mongoose.createConnection(inject("mongoUri"), { dbName, serverSelectionTimeoutMS: 5_000 }).asPromise();
  await db.db?.dropDatabase();
  await seedActivity(users.ada.id, seededActivity);

  // The API starts with its database unreachable (the gate is closed): its first answers are 503.
  mongoGate = await startMongoGate(inject("mongoUri"), gatePort);
  const apiUrl = `http://localhost:${apiPort}`;
  [api] = await Promise.all([
    startDevServer(apiPort, {
      MONGODB_URI: mongoGate.uri,
      MONGODB_DB_NAME: dbName,
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: "1500",
      CLERK_SECRET_KEY: testSecretKey,
      CLERK_PUBLISHABLE_KEY: testPublishableKey,
      CLERK_WEBHOOK_SIGNING_SECRET: testSigningSecret,
      CLERK_JWT_KEY: tokens.jwtKey,
      CLERK_AUTHORIZED_PARTIES: appOrigin, // and so CORS_ALLOWED_ORIGINS, its default
      CLERK_API_URL: clerk.url,
      INNGEST_DEV: "1",
      RATE_LIMIT_PER_USER_PER_MINUTE: String(perUserPerMinute),
      RATE_LIMIT_PER_IP_PER_MINUTE: "10000",
      LOG_LEVEL: "warn",
    }),
    buildExampleApp({ outDir: join(workDir, "dist"), envDir: workDir, apiUrl, publishableKey: testPublishableKey }),
  ]);
  [app, foreignApp] = await Promise.all([serveStatic(join(workDir, "dist"), appPort), serveStatic(join(workDir, "dist"), foreignPort)]);
  expect(app.origin).toBe(appOrigin);

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
});

afterEach(({ task }) => {
  // What the API said, when a step fails: its log is the first place to look.
  if (task.result?.state === "fail" && api) console.log(`--- npm run dev output (last lines) ---\n${api.log()}`);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([api?.stop(), app?.close(), foreignApp?.close(), clerk?.close()]);
  await mongoGate?.close();
  await db?.db?.dropDatabase();
  await db?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function seedActivity(userId: string, count: number) {
  const store = createActivityStore(db);
  const start = Date.UTC(2025, 0, 1);
  for (let index = 0; index < count; index += 1) {
    const sessionId = `sess_${userId}_${String(index).padStart(3, "0")}`;
    await store.record({
      _id: `${sessionId}:signed_in`,
      userId,
      kind: "signed_in",
      sessionId,
      at: new Date(start + index * 3_600_000),
      clientIp: `203.0.113.${index}`,
      userAgent: "Mozilla/5.0 (seeded)",
    });
  }
}

/** A page in its own browser context (its own cookies and storage), signed in as `user` when it clicks "Sign in". */
async function openApp(origin: string, user: TestUser) {
  const context: BrowserContext = await browser.newContext({ acceptDownloads: true });
  await context.exposeBinding(standInBindings.signIn, ({ page }): StandInSession => {
    const auth = pageAuth.get(page);
    if (!auth) throw new Error("no user set for this page");
    auth.signIns += 1;
    auth.tokens = "valid";
    const { id, firstName, lastName, email } = auth.user;
    return { userId: id, sessionId: `sess_${id}`, firstName, lastName, email };
  });
  await context.exposeBinding(standInBindings.getToken, async ({ page, frame }, sessionId: string) => {
    const auth = pageAuth.get(page);
    if (!auth || sessionId !== `sess_${auth.user.id}`) return null;
    // Clerk's session token: azp is the origin of the page that asked for it.
    const azp = new URL(frame.url()).origin;
    return auth.tokens === "valid"
      ? tokens.sign({ userId: auth.user.id, azp })
      : tokens.sign({ userId: auth.user.id, azp, issuedAt: -120, notBefore: -120, expiresIn: -60 });
  });
  await context.exposeBinding(standInBindings.signOut, () => undefined);
  const page = await context.newPage();
  pageAuth.set(page, { user, tokens: "valid", signIns: 0 });

  const seen = { consoleErrors: [] as string[], failedRequests: [] as string[], pageErrors: [] as string[] };
  page.on("console", (message) => void (message.type() === "error" && seen.consoleErrors.push(message.text())));
  page.on("requestfailed", (request) => void seen.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
  page.on("pageerror", (error) => void seen.pageErrors.push(error.message));
  await page.goto(origin);
  return { page, context, seen, corsErrors: () => seen.consoleErrors.filter((text) => /CORS|Access-Control/i.test(text)) };
}

let shot = 0;
async function screenshot(page: Page, name: string) {
  shot += 1;
  await page.screenshot({ path: join(screenshotDir, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

/** The next answer of the API to `method path` (the path without its query). */
function apiResponse(page: Page, method: string, path: string): Promise<Response> {
  return page.waitForResponse((response) => {
    const url = new URL(response.url());
    return url.origin === api.url && url.pathname === path && response.request().method() === method;
  });
}

/** Clicks and returns the API's answer to the request the click makes. */
async function clickFor(page: Page, button: string, method: string, path: string): Promise<Response> {
  const [response] = await Promise.all([apiResponse(page, method, path), page.getByRole("button", { name: button, exact: true }).click()]);
  return response;
}

const alert = (page: Page, status: number) => page.locator(`[role="alert"][data-status="${status}"]`);

const storedUser = (id: string) => userModelFor(db).findById(id).lean();

describe("the React example, served from another origin than the API", () => {
  it("gets exactly the CORS answers the contract promises (HTTP, no browser)", async () => {
    const appOrigin = app.origin;
    const preflight = (origin: string, path: string, method: string) =>
      fetch(`${api.url}${path}`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": method, "access-control-request-headers": "authorization, content-type, x-example-trace" },
      });

    for (const [path, method] of [
      ["/api/me", "PATCH"],
      ["/api/me", "DELETE"],
      ["/api/me/activity", "GET"],
      ["/api/me/export", "GET"],
    ] as const) {
      const allowed = await preflight(appOrigin, path, method);
      expect(allowed.status, `preflight ${method} ${path}`).toBe(204);
      expect(allowed.headers.get("access-control-allow-origin")).toBe(appOrigin);
      expect(allowed.headers.get("vary") ?? "").toMatch(/\bOrigin\b/i);
      expect(commaList(allowed.headers.get("access-control-allow-methods"))).toContain(method);
      expect(commaList(allowed.headers.get("access-control-allow-headers"))).toEqual(expect.arrayContaining(["AUTHORIZATION", "CONTENT-TYPE", "X-EXAMPLE-TRACE"]));
      expect(Number(allowed.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    }

    const refusedPreflight = await preflight(foreignApp.origin, "/api/me", "GET");
    expect(refusedPreflight.status).toBe(403);
    expect(corsHeaders(refusedPreflight)).toEqual([]);

    // An actual request from a foreign page, with a token that would otherwise pass: refused before anything runs.
    const token = await tokens.sign({ userId: users.http.id, azp: appOrigin });
    const refused = await fetch(`${api.url}/api/me`, { headers: { origin: foreignApp.origin, authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(corsHeaders(refused)).toEqual([]);
    expect(((await refused.json()) as { type: string }).type).toBe("/problems/origin-not-allowed");
    expect(clerk.calls.filter((call) => call.path.includes(users.http.id))).toEqual([]);

    // An error for an allowed origin carries CORS headers, so the app can read it.
    const unauthenticated = await fetch(`${api.url}/api/me`, { headers: { origin: appOrigin } });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("access-control-allow-origin")).toBe(appOrigin);
    expect(unauthenticated.headers.get("vary") ?? "").toMatch(/\bOrigin\b/i);
    expect(commaList(unauthenticated.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining(["RATELIMIT-LIMIT", "RATELIMIT-REMAINING", "RATELIMIT-RESET", "RETRY-AFTER", "X-REQUEST-ID", "CONTENT-DISPOSITION"]),
    );
  });

  it("walks sign-in, a 503, the profile, an edit, activity pages, the export, a 401 and deletion, with no CORS failure", async () => {
    const { page, seen, corsErrors } = await openApp(app.origin, users.ada);
    await page.getByRole("heading", { name: "Welcome" }).waitFor();
    await screenshot(page, "signed-out");

    // Sign in while the API's database is down: a 503 the app can read (CORS on errors), with Retry.
    const unavailable = await clickFor(page, "Sign in", "GET", "/api/me");
    expect(unavailable.status()).toBe(503);
    await alert(page, 503).waitFor();
    expect(await alert(page, 503).textContent()).toContain("temporarily unavailable");
    await screenshot(page, "503-database-down");

    // The database is back: Retry loads the profile, fetched from Clerk just in time and stored.
    await mongoGate.open();
    const profile = await clickFor(page, "Retry", "GET", "/api/me");
    expect(profile.status()).toBe(200);
    await page.getByTestId("name").waitFor();
    expect(await page.getByTestId("name").textContent()).toBe("Ada Lovelace");
    expect(await page.getByTestId("email").textContent()).toBe(users.ada.email);
    const synced = await storedUser(users.ada.id);
    expect(synced).toMatchObject({ _id: users.ada.id, email: users.ada.email, firstName: "Ada", lastName: "Lovelace" });
    expect(synced?.deletedAt ?? null).toBeNull();
    expect(clerk.calls).toContainEqual(expect.objectContaining({ method: "GET", path: `/v1/users/${users.ada.id}` }));
    await page.locator("ol.activity > li").first().waitFor();
    await screenshot(page, "profile");

    // Edit: the server's validation errors (problem+json `errors`) are shown as sent, nothing is stored.
    await page.getByLabel("Display name").fill("A".repeat(81));
    const invalid = await clickFor(page, "Save", "PATCH", "/api/me");
    expect(invalid.status()).toBe(400);
    const problem = (await invalid.json()) as { type: string; errors: string[] };
    expect(problem.type).toBe("/problems/invalid-payload");
    expect(problem.errors.length).toBeGreaterThan(0);
    await alert(page, 400).waitFor();
    expect(await alert(page, 400).locator("ul.errors > li").allTextContents()).toEqual(problem.errors);
    expect((await storedUser(users.ada.id))?.profile?.displayName).toBeUndefined();
    await screenshot(page, "edit-validation-error");

    await page.getByLabel("Display name").fill("Countess of Lovelace");
    await page.getByLabel(/^Bio/).fill("Wrote the first program.\nFor the Analytical Engine.");
    expect((await clickFor(page, "Save", "PATCH", "/api/me")).status()).toBe(200);
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    expect(await alert(page, 400).count()).toBe(0);
    expect(await page.getByTestId("display-name").textContent()).toBe("Countess of Lovelace");
    expect(await page.getByTestId("bio").textContent()).toBe("Wrote the first program.\nFor the Analytical Engine.");
    expect((await storedUser(users.ada.id))?.profile).toMatchObject({
      displayName: "Countess of Lovelace",
      bio: "Wrote the first program.\nFor the Analytical Engine.",
    });
    await screenshot(page, "edit-saved");

    // Activity: pages of 10, newest first, until the API says there is no next page; as stored.
    const rows = page.locator("ol.activity > li");
    expect(await rows.count()).toBe(10);
    await clickFor(page, "Load more", "GET", "/api/me/activity");
    await rows.nth(19).waitFor();
    await clickFor(page, "Load more", "GET", "/api/me/activity");
    await rows.nth(seededActivity - 1).waitFor();
    await page.getByRole("button", { name: "Load more" }).waitFor({ state: "detached" });
    const shown = await Promise.all((await rows.all()).map((row) => row.getAttribute("data-session-id")));
    const stored = await activityModelFor(db).find({ userId: users.ada.id }).sort({ at: -1, _id: -1 }).lean();
    expect(shown).toEqual(stored.map((record) => record.sessionId));
    await screenshot(page, "activity-all-pages");

    // Export: a download named by the server's Content-Disposition (readable only if CORS exposes it).
    const [download, exported] = await Promise.all([
      page.waitForEvent("download"),
      clickFor(page, "Download my data", "GET", "/api/me/export"),
    ]);
    expect(exported.status()).toBe(200);
    expect(download.suggestedFilename()).toBe(`account-export-${users.ada.id}.json`);
    const file = JSON.parse(await readFile(await download.path(), "utf8")) as {
      user: { id?: string; _id?: string; email: string; profile: { displayName?: string } };
      activity: { sessionId: string }[];
    };
    expect(file.user.id ?? file.user._id).toBe(users.ada.id);
    expect(file.user).toMatchObject({ email: users.ada.email, profile: { displayName: "Countess of Lovelace" } });
    expect(file.activity.map((record) => record.sessionId)).toEqual(stored.map((record) => record.sessionId));
    await page.getByRole("status").filter({ hasText: `Saved as account-export-${users.ada.id}.json` }).waitFor();
    await screenshot(page, "export-downloaded");

    // 401: the session token has expired; the app asks to sign in again, and that works.
    pageAuth.get(page)!.tokens = "expired";
    expect((await clickFor(page, "Refresh", "GET", "/api/me")).status()).toBe(401);
    await alert(page, 401).waitFor();
    await screenshot(page, "401-sign-in-again");
    await page.getByRole("button", { name: "Sign in again" }).click();
    await page.getByRole("heading", { name: "Welcome" }).waitFor();
    expect((await clickFor(page, "Sign in", "GET", "/api/me")).status()).toBe(200);
    await page.getByTestId("name").waitFor();
    expect(pageAuth.get(page)?.signIns).toBe(2);

    // Delete: cancelling the confirmation sends nothing.
    const deletes: string[] = [];
    page.on("request", (request) => void (request.method() === "DELETE" && deletes.push(request.url())));
    await page.getByRole("button", { name: "Delete my account…" }).click();
    await page.getByRole("alertdialog").waitFor();
    await screenshot(page, "delete-confirmation");
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("alertdialog").waitFor({ state: "detached" });
    expect(deletes).toEqual([]);

    // Confirmed while Clerk's Backend API fails: a retryable 502, and nothing deleted.
    clerk.setFailing(true);
    await page.getByRole("button", { name: "Delete my account…" }).click();
    expect((await clickFor(page, "Yes, delete my account", "DELETE", "/api/me")).status()).toBe(502);
    await alert(page, 502).waitFor();
    await screenshot(page, "delete-clerk-unavailable");
    expect((await storedUser(users.ada.id))?.deletedAt ?? null).toBeNull();

    // Clerk is back: Retry deletes the account in Clerk and here, and the app signs out.
    clerk.setFailing(false);
    expect((await clickFor(page, "Retry", "DELETE", "/api/me")).status()).toBe(200);
    await page.getByRole("status").filter({ hasText: "Your account has been deleted." }).waitFor();
    await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    expect((await storedUser(users.ada.id))?.deletedAt).toBeInstanceOf(Date);
    expect(clerk.users.has(users.ada.id)).toBe(false);
    await screenshot(page, "deleted");

    expect(corsErrors()).toEqual([]);
    expect(seen.failedRequests).toEqual([]);
    expect(seen.pageErrors).toEqual([]);
  });

  it("shows a 429 with the server's Retry-After, counting down, Retry disabled meanwhile", async () => {
    await mongoGate.open();
    const { page, seen, corsErrors } = await openApp(app.origin, users.busy);
    expect((await clickFor(page, "Sign in", "GET", "/api/me")).status()).toBe(200);
    await page.getByTestId("name").waitFor();

    let limited: Response | undefined;
    for (let attempt = 0; attempt < perUserPerMinute + 5 && !limited; attempt += 1) {
      const response = await clickFor(page, "Refresh", "GET", "/api/me");
      if (response.status() === 429) limited = response;
      else expect(response.status()).toBe(200);
    }
    if (!limited) throw new Error(`no 429 after ${perUserPerMinute + 5} requests`);
    const retryAfter = Number((await limited.allHeaders())["retry-after"]);
    expect(retryAfter).toBeGreaterThan(1);

    await alert(page, 429).waitFor();
    const countdown = Number(await page.getByTestId("retry-after").textContent());
    expect(countdown).toBeLessThanOrEqual(retryAfter);
    expect(countdown).toBeGreaterThanOrEqual(retryAfter - 2);
    expect(await alert(page, 429).getByRole("button", { name: "Retry" }).isDisabled()).toBe(true);
    await screenshot(page, "429-retry-after");
    await page.waitForTimeout(1_500);
    expect(Number(await page.getByTestId("retry-after").textContent())).toBeLessThan(countdown);

    expect(corsErrors()).toEqual([]);
    expect(seen.failedRequests).toEqual([]);
    expect(seen.pageErrors).toEqual([]);
  });

  it("refuses the same app served from an origin that is not allowed: the browser blocks its calls and nothing runs", async () => {
    await mongoGate.open();
    const { page, seen, corsErrors } = await openApp(foreignApp.origin, users.stranger);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await alert(page, 0).waitFor();
    expect(await alert(page, 0).textContent()).toContain(`Cannot reach the API at ${api.url}`);
    await screenshot(page, "foreign-origin-refused");

    expect(seen.failedRequests).toContainEqual(expect.stringMatching(new RegExp(`^GET ${escape(api.url)}/api/me: `)));
    expect(corsErrors()).toContainEqual(expect.stringContaining(`from origin '${foreignApp.origin}' has been blocked by CORS policy`));
    expect(await storedUser(users.stranger.id)).toBeNull();
    expect(clerk.calls.filter((call) => call.path.includes(users.stranger.id))).toEqual([]);
  });
});

function commaList(value: string | null): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim().toUpperCase())
    .filter(Boolean);
}

function corsHeaders(response: globalThis.Response): string[] {
  return [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
