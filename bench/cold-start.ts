/**
 * Cold start of what Vercel runs: the function bundles `vercel build` writes (the pinned CLI,
 * offline, on a copy of the repository: scripts/deploy/vercel-build.ts), not the TypeScript
 * sources through tsx.
 *
 * For every built function, `runs` fresh `node` processes (working directory: the `.func`
 * directory, so only the traced files resolve), each of which
 *   1. times `import()` of the handler `.vc-config.json` names (what Vercel's launcher does when an
 *      instance starts), then
 *   2. serves the default export with `node:http` and times the first request, then `warm`
 *      more of the same (at most 2 s of them): the first request's extra cost is what the
 *      handler loads lazily.
 * The baseline, measured the same way in the same run: a bare `node:http` handler added to the
 * copy as one more api/ file, so `vercel build` builds it like the others.
 *
 * Requests need no database: each function gets the probe `npm run check:deploy` uses (an
 * anonymous request to an authenticated route, the webhook without a signature, …), with
 * MONGODB_URI pointing nowhere. Health's GET pings the database: it is measured with GET only when
 * MONGODB_URI is set (the first request then includes connecting to that server), otherwise with
 * a POST (405, nothing loaded lazily).
 *
 * Figures (stdout, `name: value unit`): cold_import_* (median import ms), first_request_extra_*
 * (median of first − warm, ms), bundle_size_* (MiB, uncompressed .func directory); each list
 * starts with the baseline (`_floor`). Targets (issue 13), reported on stderr, not asserted:
 * every import < 100 ms, every first request ≤ 150 ms more than a warm one.
 *
 * Run alone: `tsx bench/cold-start.ts` (MONGODB_URI optional); `npm run bench` runs it too.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Answer,
  fetchOperations,
  functionEnv,
  type Operation,
  type Probe,
  probeFor,
  retryWithAllowedMethod,
  unreachableMongoUri,
} from "../scripts/deploy/built-functions.js";
import { type BuiltFunction, vercelBuild } from "../scripts/deploy/vercel-build.js";
import { figure, hostCpuBusyPercent, log, median, root } from "./common.js";

const runs = 5;
const warm = 10;
const importTargetMs = 100;
const firstRequestTargetMs = 150;

/** The baseline: a handler doing nothing but answer, built by `vercel build` like the real ones. */
const floorFile = "api/bench-cold-start-floor.ts";
const floorSource = `import type { IncomingMessage, ServerResponse } from "node:http";

/** Added by bench/cold-start.ts to its own build copy: the floor for a function's cold start. */
export default function floor(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end('{"ok":true}');
}
`;

/**
 * Runs in each fresh process (plain `node`, no loader). Prints one JSON line:
 * `{ importMs, first, warm }` where first is an Answer-like record and warm a list of ms.
 */
const probeScript = `
import http from "node:http";
const started = performance.now();
const loaded = await import(process.env.PROBE_HANDLER_URL);
const importMs = performance.now() - started;
let handler = loaded;
for (let i = 0; i < 5 && handler && typeof handler !== "function" && handler.default; i += 1) handler = handler.default;
if (typeof handler !== "function") throw new Error("the handler's default export is not a function");
const server = http.createServer((req, res) => {
  Promise.resolve(handler(req, res)).catch((error) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
const spec = JSON.parse(process.env.PROBE_REQUEST);
const agent = new http.Agent({ keepAlive: true });
const request = () => new Promise((resolve, reject) => {
  const t = performance.now();
  const req = http.request({ host: "127.0.0.1", port, method: spec.method, path: spec.path, headers: spec.headers, agent }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (chunk) => (body += chunk));
    res.on("end", () => resolve({ ms: performance.now() - t, status: res.statusCode, contentType: res.headers["content-type"] ?? "", allow: res.headers.allow ?? null, body }));
  });
  req.on("error", reject);
  req.setTimeout(20000, () => req.destroy(new Error("no answer within 20 s")));
  req.end(spec.body);
});
const first = await request();
const warm = [];
// At most 2 s of warm requests: a route that waits on something (e.g. an unreachable database) is
// slow warm too, and more samples of that say nothing more.
const warmStarted = performance.now();
for (let i = 0; i < Number(process.env.PROBE_WARM) && (i === 0 || performance.now() - warmStarted < 2000); i += 1) warm.push((await request()).ms);
process.stdout.write(JSON.stringify({ importMs, first, warm }) + "\\n");
// A handler may leave pools or timers behind: the sample is taken, end the process.
process.exit(0);
`;

interface Sample {
  importMs: number;
  first: Answer;
  warm: number[];
}

interface Measured {
  fn: BuiltFunction;
  label: string;
  probe: Probe;
  samples: Sample[];
}

const slug = (name: string) => name.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "");

async function sampleOnce(fn: BuiltFunction, probe: Probe, env: Record<string, string>): Promise<Sample> {
  if (!fn.config.handler) throw new Error(`${fn.name}: .vc-config.json has no handler`);
  const child = spawn(process.execPath, ["--input-type=module", "-e", probeScript], {
    cwd: fn.dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...env,
      PROBE_HANDLER_URL: pathToFileURL(join(fn.dir, fn.config.handler)).href,
      PROBE_REQUEST: JSON.stringify({ method: probe.method, path: probe.path, headers: probe.headers, body: probe.body }),
      PROBE_WARM: String(warm),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  if (!(await Promise.race([exited.then(() => true), sleep(60_000).then(() => false)]))) {
    child.kill("SIGKILL");
    await exited;
    throw new Error(`${fn.name}: no result within 60 s\n${stderr.trim()}`);
  }
  const line = stdout.trim().split("\n").at(-1) ?? "";
  if (child.exitCode !== 0 || !line.startsWith("{")) throw new Error(`${fn.name}: the probe process failed (exit ${child.exitCode}):\n${stderr.trim()}`);
  return JSON.parse(line) as Sample;
}

/** The request a function is timed with: check:deploy's probe, except health without a database. */
function benchProbe(fn: BuiltFunction, databaseAvailable: boolean, functions: BuiltFunction[], operations: Operation[]): Probe {
  const probe = probeFor(fn, databaseAvailable, functions, operations);
  if (fn.name === floorFile.replace(/\.ts$/, "")) return { ...probe, method: "GET", expected: "200", check: () => [] };
  if (fn.route === "/api/health" && !databaseAvailable) return { ...probe, method: "POST", expected: "405 (no database: GET would wait for it)" };
  return probe;
}

export async function benchColdStart(): Promise<void> {
  const build = await vercelBuild({ repoRoot: root, log, extraFiles: { [floorFile]: floorSource } });
  try {
    log(`vercel build: ${Math.round(build.buildMs / 1000)} s, ${build.functions.length - 1} functions (+ the floor)`);
    const databaseAvailable = Boolean(process.env.MONGODB_URI);
    // Only health may reach a database; every other function gets an address nothing listens on.
    const dbEnv = functionEnv(process.env.MONGODB_URI);
    const noDbEnv = { ...dbEnv, MONGODB_URI: unreachableMongoUri };
    const operations = await fetchOperations(build.functions, build.cli.devServer, noDbEnv);
    const floorName = floorFile.replace(/\.ts$/, "");
    const ordered = [...build.functions.filter((fn) => fn.name === floorName), ...build.functions.filter((fn) => fn.name !== floorName)];
    const measured: Measured[] = ordered.map((fn) => ({
      fn,
      label: fn.name === floorName ? "floor" : slug(fn.name),
      probe: benchProbe(fn, databaseAvailable, build.functions, operations),
      samples: [],
    }));

    // Round-robin over the functions, so a busy moment of the machine spreads over all of them.
    for (let round = 0; round < runs; round += 1) {
      for (const entry of measured) {
        const env = entry.fn.route === "/api/health" ? dbEnv : noDbEnv;
        let sample = await sampleOnce(entry.fn, entry.probe, env);
        const retry = round === 0 ? retryWithAllowedMethod(entry.probe, sample.first) : undefined;
        if (retry) {
          entry.probe = retry;
          sample = await sampleOnce(entry.fn, entry.probe, env);
        }
        entry.samples.push(sample);
      }
      log(`round ${round + 1}/${runs} done`);
    }

    const results = measured.map((entry) => ({
      ...entry,
      importMs: median(entry.samples.map((sample) => sample.importMs)),
      firstMs: median(entry.samples.map((sample) => sample.first.ms)),
      warmMs: median(entry.samples.flatMap((sample) => sample.warm)),
      extraMs: median(entry.samples.map((sample) => sample.first.ms - median(sample.warm))),
    }));
    for (const result of results) {
      const statuses = [...new Set(result.samples.map((sample) => sample.first.status))].join("/");
      log(
        `${result.fn.name}: ${result.probe.method} ${result.probe.path} → ${statuses}; import ${result.importMs.toFixed(1)} ms, ` +
          `first request ${result.firstMs.toFixed(1)} ms, warm ${result.warmMs.toFixed(2)} ms (medians of ${runs} processes)`,
      );
    }
    const real = results.filter((result) => result.label !== "floor");

    for (const result of results) figure(`cold_import_${result.label}`, result.importMs, "ms", 1);
    figure("cold_import_max", Math.max(...real.map((result) => result.importMs)), "ms", 1);
    for (const result of results) figure(`first_request_extra_${result.label}`, result.extraMs, "ms", 1);
    figure("first_request_extra_max", Math.max(...real.map((result) => result.extraMs)), "ms", 1);
    for (const result of results) figure(`bundle_size_${result.label}`, result.fn.bytes / 1024 / 1024, "MiB", 3);
    figure("bundle_size_max", Math.max(...real.map((result) => result.fn.bytes)) / 1024 / 1024, "MiB", 3);

    const slowImports = real.filter((result) => result.importMs >= importTargetMs);
    const slowFirst = real.filter((result) => result.extraMs > firstRequestTargetMs);
    log(
      slowImports.length
        ? `import target (< ${importTargetMs} ms) missed by: ${slowImports.map((r) => `${r.fn.name} ${Math.round(r.importMs)} ms`).join(", ")}`
        : `import target met: every bundle loads in < ${importTargetMs} ms`,
    );
    log(
      slowFirst.length
        ? `first-request target (≤ ${firstRequestTargetMs} ms over warm) missed by: ${slowFirst.map((r) => `${r.fn.name} +${Math.round(r.extraMs)} ms`).join(", ")}`
        : `first-request target met: every first request ≤ ${firstRequestTargetMs} ms over a warm one`,
    );
  } finally {
    build.cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // stdout holds the figures only.
  console.log = console.error;
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  const busy = await hostCpuBusyPercent();
  if (busy !== undefined && busy > 20) log(`warning: the machine is already ${Math.round(busy)}% busy; the figures will reflect that contention`);
  try {
    await benchColdStart();
  } catch (error) {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
