import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { BuiltFunction } from "./vercel-build.js";

/**
 * Running what `vercel build` wrote: the environment a built function gets, the request each
 * one is probed with and what it must answer. Shared by `npm run check:deploy` and the bench.
 */

/** A MongoDB URI nothing listens on: the functions must answer what they can without a database. */
export const unreachableMongoUri = "mongodb://127.0.0.1:1/clerk_mongo_sync_check_deploy";

/**
 * The configuration the tests give the API (test/support/api.ts), made up here: Clerk keys of
 * the right shapes, an RS256 public key so tokens are checked networklessly, a Svix secret,
 * Inngest in dev mode. Clerk's Backend API points at a closed local port, so nothing the
 * functions do can leave the machine.
 */
export function functionEnv(mongoUri: string | undefined, inngestBaseUrl?: string): Record<string, string> {
  const { publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    MONGODB_URI: mongoUri ?? unreachableMongoUri,
    CLERK_SECRET_KEY: "sk_test_clerk_mongo_sync_check_deploy_0123456789",
    CLERK_PUBLISHABLE_KEY: `pk_test_${Buffer.from("clerk.example.com$").toString("base64")}`,
    CLERK_JWT_KEY: publicKey,
    CLERK_AUTHORIZED_PARTIES: "https://app.example.com",
    CLERK_WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from("clerk-mongo-sync check-deploy secret 0123").toString("base64")}`,
    CLERK_API_URL: "http://127.0.0.1:9",
    INNGEST_DEV: "1",
    // Where the sync status probes Inngest's Event API (a stand-in that answers): a deployment that never reached Inngest is stalled.
    ...(inngestBaseUrl && { INNGEST_BASE_URL: inngestBaseUrl }),
    LOG_LEVEL: "silent",
  };
}

/** What a function is asked, and what it must answer. */
export interface Probe {
  method: string;
  /** Request path, dynamic segments filled in. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Human-readable expectation: `401 application/problem+json`. */
  expected: string;
  /** Where the path and method come from, e.g. `OpenAPI GET /api/users/{id}`. */
  source: string;
  /** Problems with an answer (empty: as expected). */
  check(answer: Answer): string[];
  /** A guessed method (no documented operation): any method a 405 lists may be tried instead. */
  guessed: boolean;
}

export interface Answer {
  status: number;
  contentType: string;
  allow: string | null;
  body: string;
  ms: number;
}

/** One operation of the API's OpenAPI document: `GET /api/users/{id}`. */
export interface Operation {
  method: string;
  path: string;
}

const sampleId = "user_checkdeploy";

/** Fills `[id]`, `[...slug]`, `[[...slug]]` so the path is one the route serves (a guess). */
function concretePath(route: string): string {
  return route
    .replace(/\[\[\.\.\.[^\]]+\]\]/g, "check")
    .replace(/\[\.\.\.[^\]]+\]/g, "check/deploy")
    .replace(/\[[^\]]+\]/g, sampleId);
}

/** An OpenAPI path with its `{parameters}` filled in. */
const concreteOperationPath = (path: string) => path.replace(/\{[^}]+\}/g, sampleId);

/** Vercel's precedence, segment by segment: static before `[param]` before `[...rest]` before `[[...rest]]`. */
function segmentRanks(route: string): number[] {
  return route.split("/").map((segment) => (segment.startsWith("[[...") ? 3 : segment.startsWith("[...") ? 2 : segment.startsWith("[") ? 1 : 0));
}
function byPrecedence(a: BuiltFunction, b: BuiltFunction): number {
  const [ra, rb] = [segmentRanks(a.route), segmentRanks(b.route)];
  for (let i = 0; i < Math.max(ra.length, rb.length); i += 1) {
    const difference = (ra[i] ?? -1) - (rb[i] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Does Vercel's file-system routing send `path` to the function serving `route`? (Before precedence.) */
function routeMatches(route: string, path: string): boolean {
  const pattern = route
    .split("/")
    .map((segment) => {
      if (/^\[\[\.\.\.[^\]]+\]\]$/.test(segment)) return "(?:/.*)?";
      if (/^\[\.\.\.[^\]]+\]$/.test(segment)) return "/.+";
      if (/^\[[^\]]+\]$/.test(segment)) return "/[^/]+";
      return segment ? `/${segment.replace(/[.*+?^${}()|\\]/g, "\\$&")}` : "";
    })
    .join("");
  return new RegExp(`^${pattern || "/"}$`).test(path);
}

/**
 * The documented operations a function serves: those whose path Vercel routes to it (the most
 * specific matching route wins: static segments before dynamic ones, catch-alls last), GET first.
 */
function operationsServedBy(fn: BuiltFunction, functions: BuiltFunction[], operations: Operation[]): Operation[] {
  return operations
    .filter((operation) => {
      const path = concreteOperationPath(operation.path);
      const owners = functions.filter((candidate) => routeMatches(candidate.route, path));
      owners.sort(byPrecedence);
      return owners[0] === fn;
    })
    .sort((a, b) => Number(b.method === "GET") - Number(a.method === "GET"));
}

const isJson = (answer: Answer) => /^application\/(problem\+)?json\b/.test(answer.contentType);
const parses = (body: string) => {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
};
const statusIs = (answer: Answer, ...statuses: number[]) =>
  statuses.includes(answer.status) ? [] : [`status ${answer.status}, expected ${statuses.join(" or ")}`];
const jsonBody = (answer: Answer) =>
  isJson(answer) && parses(answer.body) ? [] : [`not a JSON answer (content-type "${answer.contentType}", body ${JSON.stringify(answer.body.slice(0, 120))})`];
const problem = (answer: Answer) =>
  answer.contentType.startsWith("application/problem+json") && parses(answer.body) ? [] : [`content-type "${answer.contentType}", expected application/problem+json`];

/**
 * The probe for one function. `databaseAvailable`: MONGODB_URI points at a server, so health
 * must say 200; without one it must say 503, quickly and as JSON. Every other function is an
 * authenticated one, probed with an operation the OpenAPI document gives it (GET if it has
 * one), and an anonymous request must get 401 problem+json, with or without a database
 * (authentication comes before any database work). `operations`: the OpenAPI document's, from
 * the built `/api/openapi.json` (`fetchOperations`).
 */
export function probeFor(fn: BuiltFunction, databaseAvailable: boolean, functions: BuiltFunction[], operations: Operation[]): Probe {
  const base = { path: concretePath(fn.route), headers: {} as Record<string, string>, guessed: false, source: "fixed" };
  switch (fn.route) {
    case "/api/health":
      return databaseAvailable
        ? { ...base, method: "GET", expected: "200 JSON (MONGODB_URI given)", check: (a) => [...statusIs(a, 200), ...jsonBody(a)] }
        : { ...base, method: "GET", expected: "503 JSON (no database)", check: (a) => [...statusIs(a, 503), ...jsonBody(a)] };
    case "/api/me":
      return { ...base, method: "GET", expected: "401 application/problem+json (no token)", check: (a) => [...statusIs(a, 401), ...problem(a)] };
    case "/api/webhooks/clerk":
      return {
        ...base,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "user.created", object: "event", data: { id: sampleId, object: "user" } }),
        expected: "400 (unsigned body)",
        check: (a) => statusIs(a, 400),
      };
    case "/api/inngest":
      return { ...base, method: "GET", expected: "200 JSON (Inngest introspection)", check: (a) => [...statusIs(a, 200), ...jsonBody(a)] };
    case "/api/openapi.json":
      return {
        ...base,
        method: "GET",
        expected: "200 JSON (the OpenAPI document)",
        check: (a) => [...statusIs(a, 200), ...jsonBody(a), ...(isJson(a) && parses(a.body) && "openapi" in JSON.parse(a.body) ? [] : ["no `openapi` field"])],
      };
    default: {
      const operation = operationsServedBy(fn, functions, operations)[0];
      const method = operation?.method ?? "GET";
      return {
        ...base,
        ...(operation && { path: concreteOperationPath(operation.path) }),
        method,
        headers: method === "GET" || method === "HEAD" ? {} : { "content-type": "application/json" },
        ...(method === "GET" || method === "HEAD" ? {} : { body: "{}" }),
        guessed: !operation,
        source: operation ? `OpenAPI ${operation.method} ${operation.path}` : "not in the OpenAPI document: path and method guessed",
        expected: "401 application/problem+json (anonymous)",
        check: (a) => [...statusIs(a, 401), ...problem(a)],
      };
    }
  }
}

/** For a guessed probe that got 405: the same probe with the first method the answer allows. */
export function retryWithAllowedMethod(probe: Probe, answer: Answer): Probe | undefined {
  if (!probe.guessed || answer.status !== 405 || !answer.allow) return undefined;
  const method = answer.allow
    .split(",")
    .map((name) => name.trim().toUpperCase())
    .find((name) => name && name !== probe.method && name !== "HEAD" && name !== "OPTIONS");
  if (!method) return undefined;
  return { ...probe, method, headers: { "content-type": "application/json" }, body: "{}", guessed: false, source: `${probe.source}; ${method} from its 405 allow header` };
}

const httpMethods = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/**
 * The operations of the OpenAPI document the built `/api/openapi.json` function serves (started
 * like the others); empty if there is no such function or it does not answer one.
 */
export async function fetchOperations(functions: BuiltFunction[], devServer: string, env: Record<string, string>): Promise<Operation[]> {
  const fn = functions.find((candidate) => candidate.route === "/api/openapi.json");
  if (!fn) return [];
  let running: RunningFunction | undefined;
  try {
    running = await startBuiltFunction(fn, devServer, env);
    const response = await fetch(new URL("/api/openapi.json", running.url), { signal: AbortSignal.timeout(20_000) });
    const document = (await response.json()) as { paths?: Record<string, Record<string, unknown>> };
    return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => httpMethods.has(key))
        .map((key) => ({ method: key.toUpperCase(), path })),
    );
  } catch {
    return [];
  } finally {
    await running?.stop();
  }
}

export async function send(baseUrl: string, probe: Probe, timeoutMs = 20_000): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(new URL(probe.path, baseUrl), {
    method: probe.method,
    headers: probe.headers,
    ...(probe.body !== undefined && { body: probe.body }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    allow: response.headers.get("allow"),
    body,
    ms: performance.now() - started,
  };
}

export interface RunningFunction {
  url: string;
  process: ChildProcess;
  /** ms from spawning the process to its server listening with the handler loaded. */
  startMs: number;
  /** The last lines it printed. */
  output(): string;
  /** True if it exited on its own (a crash) since it started. */
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * Serves one built function the way `vercel dev` does: `@vercel/node`'s dev server (from the
 * pinned CLI) in a fresh `node` process whose working directory is the `.func` directory, so
 * the function sees only the files `vercel build` traced into it. It imports the handler,
 * wraps it with Vercel's request/response helpers and serves it on 127.0.0.1.
 */
export async function startBuiltFunction(fn: BuiltFunction, devServer: string, env: Record<string, string>, timeoutMs = 30_000): Promise<RunningFunction> {
  if (!fn.config.handler) throw new Error(`${fn.name}: .vc-config.json has no handler`);
  const started = performance.now();
  const child = spawn(process.execPath, [devServer], {
    cwd: fn.dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      ...env,
      VERCEL_DEV_ENTRYPOINT: fn.config.handler,
      VERCEL_DEV_CONFIG: "{}",
      VERCEL_DEV_BUILD_ENV: "{}",
    },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) {
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited = false;
  const exit = once(child, "exit").then(() => {
    exited = true;
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if (!(await Promise.race([exit.then(() => true), sleep(5_000).then(() => false)]))) {
      child.kill("SIGKILL");
      await exit;
    }
  };
  const port = await Promise.race([
    new Promise<number>((resolve) =>
      child.on("message", (message: { port?: number }) => {
        if (typeof message?.port === "number") resolve(message.port);
      }),
    ),
    exit.then(() => {
      throw new Error(`${fn.name}: the process exited (${child.exitCode ?? child.signalCode}) before serving:\n${tail.join("\n")}`);
    }),
    sleep(timeoutMs).then(() => {
      throw new Error(`${fn.name}: not serving after ${timeoutMs} ms:\n${tail.join("\n")}`);
    }),
  ]).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    startMs: performance.now() - started,
    output: () => tail.join("\n"),
    exited: () => exited,
    stop,
  };
}

export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
