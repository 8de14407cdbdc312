/**
 * `npm run check:deploy`: builds the repository the way a Vercel deploy does (`vercel build`,
 * pinned CLI, offline, no login; see scripts/deploy/vercel-build.ts) and checks what it wrote:
 *
 * - the static output is exactly `public/` (without `public/`, Vercel publishes every file of
 *   the repository: sources, tests, CI scripts);
 * - the function count fits Vercel's Hobby plan;
 * - every function runs on the Node major that package.json pins (the one CI tests);
 * - every built function loads in a fresh `node` process from its own `.func` directory and
 *   answers its probe (scripts/deploy/built-functions.ts): health 200 with a database (503
 *   without), /api/me 401 problem+json without a token, the Clerk webhook 400 on an unsigned
 *   body, Inngest's introspection 200, the OpenAPI document 200, and every other function 401
 *   to an anonymous caller, on a path and method the built OpenAPI document gives it;
 * and prints each function's size. One line per check; exits 1 if any failed.
 *
 * MONGODB_URI: a running MongoDB-wire server makes health's probe expect 200; without it the
 * functions get an address nothing listens on. CHECK_DEPLOY_KEEP=1 keeps the build for a look.
 * Network: the npm registry, once, to install the CLI into ~/.cache; nothing else.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import {
  type Answer,
  fetchOperations,
  functionEnv,
  mebibytes,
  probeFor,
  retryWithAllowedMethod,
  type Operation,
  type RunningFunction,
  send,
  startBuiltFunction,
} from "./deploy/built-functions.js";
import { type BuiltFunction, type VercelBuild, vercelBuild } from "./deploy/vercel-build.js";

/**
 * Vercel's Hobby (free) plan refuses a deployment with more than 12 functions when the project
 * is not a framework that bundles its routes ("No more than 12 Serverless Functions can be
 * added to a Deployment on the Hobby plan"): https://vercel.com/docs/functions/runtimes
 * (section "Functions created per deployment"; https://vercel.link/function-count-limit).
 * Every file in api/ is one function.
 */
const hobbyPlanMaxFunctions = 12;

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const log = (line: string) => process.stderr.write(`[check:deploy] ${line}\n`);

let failures = 0;
let checks = 0;
function report(ok: boolean, line: string, details: string[] = []): void {
  checks += 1;
  if (!ok) failures += 1;
  process.stdout.write(`${ok ? "ok  " : "FAIL"} ${line}\n`);
  for (const detail of details) process.stdout.write(`       ${detail}\n`);
}
const info = (line: string) => process.stdout.write(`     ${line}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  // Exit handlers delete the build and stop the function processes.
  process.once(signal, () => process.exit(130));
}

function checkStaticOutput(build: VercelBuild): void {
  const sample = (files: string[]) => files.slice(0, 8).join(", ") + (files.length > 8 ? `, … (${files.length - 8} more)` : "");
  if (!build.publicFiles) {
    report(false, `static output: there is no public/ directory, so Vercel publishes the repository itself: ${build.staticFiles.length} files`, [
      `downloadable from the deployment: ${sample(build.staticFiles)}`,
      "add a public/ directory holding only what should be served",
    ]);
    return;
  }
  const published = new Set(build.staticFiles);
  const expected = new Set(build.publicFiles);
  const extra = build.staticFiles.filter((file) => !expected.has(file));
  const missing = build.publicFiles.filter((file) => !published.has(file));
  report(
    extra.length === 0 && missing.length === 0,
    `static output holds exactly the ${build.publicFiles.length} files of public/ (${build.staticFiles.length} published)`,
    [...(extra.length ? [`published but not in public/: ${sample(extra)}`] : []), ...(missing.length ? [`in public/ but not published: ${sample(missing)}`] : [])],
  );
}

function checkFunctionCount(build: VercelBuild): void {
  const names = build.functions.map((fn) => fn.name);
  report(build.functions.length <= hobbyPlanMaxFunctions, `${build.functions.length} functions, Hobby plan allows ${hobbyPlanMaxFunctions}`, [
    names.join(", "),
  ]);
  if (build.functions.length === 0) report(false, "vercel build produced no function at all");
}

/** The runtime Vercel must pick: `nodejs<major>.x` from a pinned engines.node (`24.x`). */
function checkRuntime(build: VercelBuild): void {
  const engines = build.packageJson.engines?.node;
  const major = engines?.trim().match(/^(\d+)(\.x)?$/)?.[1];
  if (!major) {
    const runtimes = [...new Set(build.functions.map((fn) => fn.config.runtime))].join(", ");
    report(false, `package.json engines.node is ${JSON.stringify(engines)}: pin the major CI tests (e.g. "24.x"); Vercel picked ${runtimes}`);
    return;
  }
  const expected = `nodejs${major}.x`;
  const wrong = build.functions.filter((fn) => fn.config.runtime !== expected || fn.config.launcherType !== "Nodejs");
  report(
    wrong.length === 0,
    `every function runs on ${expected} (engines.node "${engines}")`,
    wrong.map((fn) => `${fn.name}: runtime ${fn.config.runtime}, launcher ${fn.config.launcherType}`),
  );
  const running = process.versions.node.split(".")[0];
  if (running !== major) {
    // CI runs this check on the Node it tests with: there, a mismatch means the pin is wrong.
    const line = `engines.node pins ${major}, but this check runs on Node ${process.versions.node}`;
    if (process.env.CI) report(false, `${line} (CI tests on ${running})`);
    else info(`note: ${line}`);
  }
}

function describe(answer: Answer): string {
  return `${answer.status} ${answer.contentType.split(";")[0] || "(no content-type)"}`;
}

interface ProbeContext {
  devServer: string;
  env: Record<string, string>;
  databaseAvailable: boolean;
  functions: BuiltFunction[];
  operations: Operation[];
}

async function checkFunction(fn: BuiltFunction, context: ProbeContext): Promise<void> {
  const { devServer, env, databaseAvailable } = context;
  let probe = probeFor(fn, databaseAvailable, context.functions, context.operations);
  let running: RunningFunction | undefined;
  try {
    running = await startBuiltFunction(fn, devServer, env);
    let answer = await send(running.url, probe);
    const retry = retryWithAllowedMethod(probe, answer);
    if (retry) {
      probe = retry;
      answer = await send(running.url, probe);
    }
    const problems = probe.check(answer);
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (running.exited()) problems.push("the process exited after answering");
    report(
      problems.length === 0,
      `${fn.name}: loads and answers ${probe.method} ${probe.path} → ${describe(answer)} (expected ${probe.expected}; ` +
        `dev server up in ${Math.round(running.startMs)} ms, answered in ${Math.round(answer.ms)} ms)`,
      [
        ...problems,
        ...(problems.length && answer.body ? [`body: ${answer.body.slice(0, 300)}`] : []),
        ...(probe.source === "fixed" ? [] : [`probe: ${probe.source}`]),
      ],
    );
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    const message = `${error instanceof Error ? error.message : String(error)}${cause}`;
    const output = running?.output();
    report(false, `${fn.name}: ${probe.method} ${probe.path} failed: ${message.split("\n")[0]}`, [
      ...message.split("\n").slice(1, 30),
      ...(output ? output.split("\n").slice(-20) : []),
    ]);
  } finally {
    await running?.stop();
  }
}

const started = performance.now();
let build: VercelBuild | undefined;
let eventApi: { server: Server; url: string } | undefined;

/** Answers every request 200: what the status's reachability probe needs to see of Inngest's Event API. */
async function startEventApiStandIn(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"status":200}'));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
try {
  build = await vercelBuild({ repoRoot, log });
  const tsErrors = build.buildLog.split("\n").filter((line) => /error TS\d+/.test(line)).length;
  info(`vercel build: ${Math.round(build.buildMs / 1000)} s, ${build.functions.length} functions, ${build.staticFiles.length} static files` +
    (tsErrors ? ` (it printed ${tsErrors} TypeScript errors; npm run typecheck has them)` : ""));

  checkStaticOutput(build);
  checkFunctionCount(build);
  checkRuntime(build);

  const databaseAvailable = Boolean(process.env.MONGODB_URI);
  // Inngest's Event API, stood in on loopback: health's sync status probes it (never reached would be `stalled`, a 503).
  eventApi = await startEventApiStandIn();
  const env = functionEnv(process.env.MONGODB_URI, eventApi.url);
  info(databaseAvailable ? "functions get MONGODB_URI from the environment: health must answer 200" : "no MONGODB_URI: the functions get an unreachable database, health must answer 503");
  const operations = await fetchOperations(build.functions, build.cli.devServer, env);
  info(`the built /api/openapi.json documents ${operations.length} operations: each authenticated function is probed with one it serves`);
  const context = { devServer: build.cli.devServer, env, databaseAvailable, functions: build.functions, operations };
  for (const fn of build.functions) await checkFunction(fn, context);

  for (const fn of build.functions) {
    info(`size ${fn.name}: ${fn.linkTarget ? `link to ${fn.linkTarget}` : `${mebibytes(fn.bytes)} (${fn.bytes} bytes, ${fn.files} files)`}`);
  }
  const total = build.functions.reduce((sum, fn) => sum + fn.bytes, 0);
  info(`size of all functions: ${mebibytes(total)}`);
} catch (error) {
  report(false, `check:deploy could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  build?.cleanup();
  eventApi?.server.close();
}
process.stdout.write(`${failures === 0 ? "check:deploy passed" : "check:deploy FAILED"}: ${checks - failures}/${checks} checks ok, ${Math.round((performance.now() - started) / 1000)} s\n`);
process.exit(failures === 0 ? 0 : 1);
