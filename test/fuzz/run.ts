/**
 * `npm run test:fuzz`: schemathesis against the API as `npm run dev` serves it (scripts/dev.ts
 * in a child process, as the browser test starts it), driven by the OpenAPI document the API
 * serves at /api/openapi.json. The API runs against the real MongoDB-wire server (MONGODB_URI,
 * else a local one), Clerk's Backend API and Inngest's Event API stood in on 127.0.0.1, and
 * RS256 session tokens it verifies networkless (CLERK_JWT_KEY).
 *
 * Passes, each with its own signed-in caller and a fixed seed (FUZZ_SEED):
 *   user    every operation but DELETE /api/me as a plain user (admin routes must answer 403);
 *   admin   every operation but DELETE /api/me as an admin (publicMetadata.role = "admin");
 *   delete  DELETE /api/me alone, as a third user: after the first call the account is gone,
 *           so later calls must be the documented 410.
 * Checks (test/fuzz/schemathesis.toml): every schemathesis check. No 5xx at all (the stand-ins are
 * up, so even a documented 503 is a failure here), every status, content type, header and body as
 * the document says, schema-invalid input refused, 405 with Allow, no data without a token.
 * POST /api/webhooks/clerk gets valid Svix signatures on its positive cases (test/fuzz/hooks.py).
 * Exits 1 on any failure, with schemathesis's report of each and the API's error log; 2 when the
 * run could not start.
 *
 * Knobs: FUZZ_MAX_EXAMPLES (per operation, default 100), FUZZ_SEED, FUZZ_WORKERS (default 1),
 * FUZZ_PASSES (comma-separated subset of user,admin,delete), SCHEMATHESIS_BIN.
 * Reports (JUnit and NDJSON per pass) go to test-results/fuzz/.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import mongoose from "mongoose";
import { startLocalMongo } from "../../scripts/local-mongo.js";
import { repoRoot, startDevServer } from "../browser/servers.js";
import { clerkUser, testSigningSecret } from "../support/clerk-fixtures.js";
import { startClerkBackendApi } from "../support/clerk-backend-api.js";
import { createTokenFactory, frontendOrigin, testPublishableKey, testSecretKey } from "../support/clerk-tokens.js";
import { startInngestEventApi } from "../support/inngest-event-api.js";
import { freePort } from "../support/server-process.js";
import { ensureSchemathesis, schemathesisVersion } from "./schemathesis.js";
import { seedFuzzData } from "./seed.js";

const log = (line: string) => console.log(`fuzz: ${line}`);

const maxExamples = positiveInt("FUZZ_MAX_EXAMPLES", 100);
const seed = positiveInt("FUZZ_SEED", 20_240_601);
/**
 * One worker by default: schemathesis's workers are threads, and CPython 3.11 (Debian's python3)
 * can fail `ast.parse` in concurrent threads ("AST constructor recursion depth mismatch",
 * CPython gh-106905), which hypothesis calls while building strategies: seen here as a
 * schemathesis Runtime Error with --workers 2.
 */
const workers = positiveInt("FUZZ_WORKERS", 1);
/** What "conforms to the document" means here; `not_a_server_error` is the server-error count. */
const conformanceChecks = ["status_code_conformance", "content_type_conformance", "response_headers_conformance", "response_schema_conformance"];
const reportDir = join(repoRoot, "test-results", "fuzz");
const fuzzDir = join(repoRoot, "test", "fuzz");

const users = {
  user: { id: "user_fuzz_plain", firstName: "Plain", lastName: "User", email: "plain@example.com", admin: false },
  admin: { id: "user_fuzz_admin", firstName: "Ada", lastName: "Admin", email: "admin@example.com", admin: true },
  delete: { id: "user_fuzz_deleter", firstName: "Del", lastName: "Eter", email: "deleter@example.com", admin: false },
};
/** Other accounts, so that admin listings, searches and lookups have something to find. */
const others = ["user_fuzz_other_1", "user_fuzz_other_2", "user_fuzz_other_3"];

interface Pass {
  name: keyof typeof users;
  /** schemathesis operation filters. */
  filters: string[];
  maxExamples: number;
}
const allPasses: Pass[] = [
  { name: "user", filters: ["--exclude-method", "DELETE"], maxExamples },
  { name: "admin", filters: ["--exclude-method", "DELETE"], maxExamples },
  { name: "delete", filters: ["--include-name", "DELETE /api/me"], maxExamples: Math.min(maxExamples, 10) },
];
const wanted = process.env.FUZZ_PASSES?.split(",").map((name) => name.trim());
const passes = allPasses.filter((pass) => !wanted || wanted.includes(pass.name));

interface PassResult {
  name: string;
  exitCode: number;
  cases: number;
  serverErrors: number;
  nonConforming: number;
  otherFailures: number;
  errors: number;
  seconds: number;
}

async function main(): Promise<number> {
  const started = performance.now();
  const st = await ensureSchemathesis(log);
  await rm(reportDir, { recursive: true, force: true });
  await mkdir(reportDir, { recursive: true });

  const mongo = await startLocalMongo({ env: process.env, log });
  const dbName = `cms_fuzz_${Math.random().toString(36).slice(2, 8)}`;
  const db = await mongoose.createConnection(mongo.uri, { dbName, serverSelectionTimeoutMS: 5_000 }).asPromise();
  const clerk = await startClerkBackendApi(testSecretKey);
  const eventApi = await startInngestEventApi();
  const tokens = await createTokenFactory();
  let api: Awaited<ReturnType<typeof startDevServer>> | undefined;

  try {
    const now = Date.now();
    for (const user of Object.values(users)) {
      clerk.users.set(
        user.id,
        clerkUser({
          id: user.id,
          updatedAt: now,
          firstName: user.firstName,
          lastName: user.lastName,
          emails: [user.email],
          publicMetadata: user.admin ? { role: "admin" } : {},
        }),
      );
    }
    for (const [index, id] of others.entries()) {
      clerk.users.set(id, clerkUser({ id, updatedAt: now + index, username: `other${index}`, emails: [`other${index}@example.com`] }));
    }
    api = await startDevServer(await freePort(), {
      MONGODB_URI: mongo.uri,
      MONGODB_DB_NAME: dbName,
      CLERK_SECRET_KEY: testSecretKey,
      CLERK_PUBLISHABLE_KEY: testPublishableKey,
      CLERK_WEBHOOK_SIGNING_SECRET: testSigningSecret,
      CLERK_JWT_KEY: tokens.jwtKey,
      CLERK_AUTHORIZED_PARTIES: frontendOrigin,
      CLERK_API_URL: clerk.url,
      INNGEST_DEV: "1",
      INNGEST_BASE_URL: eventApi.baseUrl,
      RATE_LIMIT_PER_USER_PER_MINUTE: "100000",
      RATE_LIMIT_PER_IP_PER_MINUTE: "100000",
      // A fuzzer's body that stalls is answered 408 in 2 s rather than 10.
      BODY_READ_TIMEOUT_MS: "2000",
      // The Event API stand-in is up: the 400 ms fail-fast budget (a documented 503 when Inngest is
      // slow or down) is for production, not a 2-core machine under load, where a send to the
      // stand-in took longer once in a 300-example run (POST /api/admin/reconciliation-runs → 503).
      INNGEST_API_SEND_TIMEOUT_MS: "5000",
      // Errors only: the fuzzer's thousands of refused requests would bury them at "warn".
      LOG_LEVEL: "error",
    });
    log(`API (scripts/dev.ts) at ${api.url}, database ${dbName}, schemathesis ${schemathesisVersion}`);

    // The API stores each user just in time, on its first request, as it would after a lost webhook.
    for (const id of [...Object.values(users).map((user) => user.id), ...others]) {
      const token = await tokens.sign({ userId: id, expiresIn: 3_600 });
      const response = await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      if (response.status !== 200) throw new Error(`seeding ${id}: GET /api/me answered ${response.status}: ${await response.text()}`);
    }
    const seeded = await seedFuzzData(
      { uri: mongo.uri, dbName, maxPoolSize: 2, serverSelectionTimeoutMs: 5_000, maxIdleTimeMs: 5_000 },
      { activityUserId: users.user.id, memberIds: [users.user.id, users.admin.id, others[0]!] },
    );
    await seeded.close();

    const results: PassResult[] = [];
    for (const pass of passes) {
      const token = await tokens.sign({ userId: users[pass.name].id, expiresIn: 3_600 });
      results.push(await runPass(st, api.url, pass, token));
    }

    const total = (key: keyof PassResult) => results.reduce((sum, result) => sum + Number(result[key]), 0);
    for (const result of results) {
      log(
        `pass ${result.name}: ${result.cases} cases, ${result.serverErrors} server errors, ${result.nonConforming} non-conforming, ` +
          `${result.otherFailures} other check failures, ${result.errors} errors, schemathesis exit ${result.exitCode}, ${result.seconds.toFixed(1)} s`,
      );
    }
    const failed = results.some((result) => result.exitCode !== 0 || result.serverErrors + result.nonConforming + result.otherFailures + result.errors > 0);
    if (failed) {
      console.log("--- API output (last lines) ---");
      console.log(api.log());
    }
    console.log(
      `fuzz: ${total("cases")} cases, ${total("serverErrors")} server errors, ${total("nonConforming")} non-conforming` +
        `, ${total("otherFailures")} other check failures, ${total("errors")} errors` +
        ` (${((performance.now() - started) / 1000).toFixed(0)} s, seed ${seed}, ${maxExamples} examples per operation)`,
    );
    return failed ? 1 : 0;
  } finally {
    await api?.stop();
    await Promise.all([clerk.close(), eventApi.close()]);
    await db.dropDatabase().catch(() => undefined);
    await db.close();
    await mongo.stop();
  }
}

async function runPass(st: string, baseUrl: string, pass: Pass, token: string): Promise<PassResult> {
  const ndjson = join(reportDir, `${pass.name}.ndjson`);
  const args = [
    "--config-file",
    join(fuzzDir, "schemathesis.toml"),
    "run",
    `${baseUrl}/api/openapi.json`,
    "--url",
    baseUrl,
    "--header",
    `Authorization: Bearer ${token}`,
    "--max-examples",
    String(pass.maxExamples),
    "--seed",
    String(seed),
    "--workers",
    String(workers),
    "--generation-database",
    "none",
    "--request-timeout",
    "15",
    "--no-color",
    "--continue-on-failure",
    "--report",
    "junit,ndjson",
    "--report-junit-path",
    join(reportDir, `${pass.name}.junit.xml`),
    "--report-ndjson-path",
    ndjson,
    ...pass.filters,
  ];
  log(`pass ${pass.name}: st ${args.filter((arg) => !arg.startsWith("Authorization")).join(" ")}`);
  const started = performance.now();
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(st, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, SCHEMATHESIS_HOOKS: join(fuzzDir, "hooks.py"), FUZZ_WEBHOOK_SECRET: testSigningSecret } });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
  const seconds = (performance.now() - started) / 1000;
  return { name: pass.name, exitCode, seconds, ...(await countEvents(ndjson)) };
}

interface CheckRecord {
  name: string;
  status: string;
}
interface Interaction {
  response?: { status_code?: number } | null;
}
interface ScenarioRecorder {
  checks?: Record<string, CheckRecord[]>;
  interactions?: Record<string, Interaction>;
}

/**
 * Counts from schemathesis's NDJSON event stream: every request it sent (`interactions`, one per
 * test case), those answered 5xx or failing `not_a_server_error` (server errors), and those
 * failing any conformance check (non-conforming). Schemathesis's own errors (a check that could
 * not run, an operation it could not test) are counted apart: they fail the run too.
 */
async function countEvents(path: string) {
  const lines = (await readFile(path, "utf8").catch(() => "")).split("\n").filter(Boolean);
  const cases = new Set<string>();
  const serverErrors = new Set<string>();
  const nonConforming = new Set<string>();
  const otherFailures = new Set<string>();
  let errors = 0;
  for (const line of lines) {
    const event = JSON.parse(line) as Record<string, { recorder?: ScenarioRecorder; status?: string } | undefined>;
    if (event.NonFatalError || event.FatalError) errors += 1;
    const scenario = event.ScenarioFinished;
    if (!scenario) continue;
    if (scenario.status === "error") errors += 1;
    for (const [id, interaction] of Object.entries(scenario.recorder?.interactions ?? {})) {
      cases.add(id);
      if ((interaction.response?.status_code ?? 0) >= 500) serverErrors.add(id);
    }
    for (const [id, results] of Object.entries(scenario.recorder?.checks ?? {})) {
      for (const check of results) {
        if (check.status !== "failure") continue;
        if (check.name === "not_a_server_error") serverErrors.add(id);
        else if (conformanceChecks.includes(check.name)) nonConforming.add(id);
        else otherFailures.add(id);
      }
    }
  }
  return { cases: cases.size, serverErrors: serverErrors.size, nonConforming: nonConforming.size, otherFailures: otherFailures.size, errors };
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return value;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
