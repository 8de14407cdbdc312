import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { once } from "node:events";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import mongoose, { type Connection, type mongo } from "mongoose";
import { type UserModel, userModelFor } from "../../lib/users/user-model.js";

/**
 * Shared by bench/reconciliation.ts and bench/sync-core.ts: figures on stdout, progress on
 * stderr, a MongoDB connection whose commands are counted, peak-RSS sampling, and worker
 * processes (one per measured variant, so memory peaks never mix).
 */

/** The repository root (workers run from there, as `npx tsx bench/...` does). */
const root = fileURLToPath(new URL("../..", import.meta.url));

/** The only thing written to stdout: one `name: value unit` line per figure. */
export function figure(name: string, value: number, unit: string, digits = 2): void {
  const text = Number.isInteger(value) ? String(value) : Number.isFinite(value) ? value.toFixed(digits) : String(value);
  process.stdout.write(`${name}: ${text} ${unit}\n`);
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** The machine's load (other processes share the CPUs and the database): worth knowing next to any timing. */
export function logLoad(when: string): void {
  log(`${when}: load average ${loadavg().map((load) => load.toFixed(2)).join(" ")} on ${availableParallelism()} CPUs`);
}

/** What a figure was measured on: the date, the commit (marked when the tree has uncommitted changes), Node. */
export function logRunContext(when: string): void {
  let commit: string;
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim() !== "";
    commit = dirty ? `${head}+dirty (uncommitted changes)` : head;
  } catch {
    commit = "unknown (not a git checkout)";
  }
  log(`${when}: ${new Date().toISOString()}, commit ${commit}, node ${process.version}`);
  logLoad(when);
}

/**
 * Bundles a worker script (TypeScript, relative to the repository root) into JavaScript with
 * esbuild (tsx's own compiler; packages stay external), so the measured process runs compiled
 * code as production does, without tsx's compiler in its memory. Code split: what the worker
 * imports dynamically (e.g. the Inngest variant's SDK and function) is a chunk of its own, loaded
 * only by the variant that asks for it, so a CLI run holds what `npm run sync` holds. Returns the
 * entry's path, which `runWorker` runs with plain `node`.
 */
export function bundleWorker(script: string): string {
  const name = script.replace(/[/\\]/g, "_").replace(/\.ts$/, "");
  const outDir = fileURLToPath(new URL(`../../node_modules/.cache/bench/${name}/`, import.meta.url));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  execFileSync(
    fileURLToPath(new URL("../../node_modules/.bin/esbuild", import.meta.url)),
    [
      script,
      "--bundle",
      "--splitting",
      "--platform=node",
      "--format=esm",
      "--target=node22",
      "--packages=external",
      "--log-level=warning",
      "--out-extension:.js=.mjs",
      "--entry-names=worker",
      `--outdir=${outDir}`,
    ],
    { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
  );
  return `${outDir}worker.mjs`;
}

/** Libraries that print with console.log must not reach stdout. */
export function keepStdoutForFigures(): void {
  console.log = console.error;
  console.info = console.error;
}

export function requireMongoUri(): string {
  const uri = process.env.MONGODB_URI;
  if (!uri) {
    process.stderr.write(
      'This benchmark needs a MongoDB-wire server in MONGODB_URI. Start one first (from the repository root):\n  eval "$(bash ../shared/tools/ferretdb.sh start)"\nthen run it again.\n',
    );
    process.exit(2);
  }
  return uri;
}

export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** Database commands sent on one connection (command monitoring: one `commandStarted` per round trip). */
export interface CommandCounter {
  readonly total: number;
  byName(): Record<string, number>;
  /** Server time (ms, as the driver saw it: send to reply) spent per command name. */
  msByName(): Record<string, number>;
  reset(): void;
}

export interface BenchDatabase {
  connection: Connection;
  users: UserModel;
  commands: CommandCounter;
  drop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A connection with the product's options (lib/db/connection.ts: bounded pool, no command
 * buffering, no auto index/collection creation) plus command monitoring.
 */
export async function openBenchDatabase(uri: string, dbName: string): Promise<BenchDatabase> {
  const connection = await mongoose
    .createConnection(uri, {
      dbName,
      maxPoolSize: 10,
      minPoolSize: 0,
      serverSelectionTimeoutMS: 5_000,
      socketTimeoutMS: 20_000,
      bufferCommands: false,
      autoIndex: false,
      autoCreate: false,
      monitorCommands: true,
    })
    .asPromise();
  let total = 0;
  let names = new Map<string, number>();
  let durations = new Map<string, number>();
  const client = connection.getClient();
  client.on("commandStarted", (event: mongo.CommandStartedEvent) => {
    total += 1;
    names.set(event.commandName, (names.get(event.commandName) ?? 0) + 1);
  });
  const timed = (event: mongo.CommandSucceededEvent | mongo.CommandFailedEvent) =>
    durations.set(event.commandName, (durations.get(event.commandName) ?? 0) + event.duration);
  client.on("commandSucceeded", timed);
  client.on("commandFailed", timed);
  return {
    connection,
    users: userModelFor(connection),
    commands: {
      get total() {
        return total;
      },
      byName: () => Object.fromEntries(names),
      msByName: () => Object.fromEntries([...durations].map(([name, ms]) => [name, Math.round(ms)])),
      reset() {
        total = 0;
        names = new Map();
        durations = new Map();
      },
    },
    drop: async () => {
      await connection.dropDatabase();
    },
    close: () => connection.close(),
  };
}

/** Where the memory was when the RSS peaked (MB): V8's heap, memory outside it (Buffers and native), RSS. */
export interface MemoryBreakdown {
  rssMb: number;
  heapTotalMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

const mb = (bytes: number) => bytes / 1024 / 1024;
export function memoryBreakdown(): MemoryBreakdown {
  const usage = process.memoryUsage();
  return { rssMb: mb(usage.rss), heapTotalMb: mb(usage.heapTotal), heapUsedMb: mb(usage.heapUsed), externalMb: mb(usage.external), arrayBuffersMb: mb(usage.arrayBuffers) };
}

/**
 * Peak resident set size (MB): sampled every `intervalMs`, and the kernel's own high-water
 * mark; `atPeak` is the breakdown of the sample with the highest RSS (what the peak was made of).
 */
export function sampleRss(intervalMs = 50): { peak(): number; atPeak(): MemoryBreakdown; stop(): number } {
  let atPeak = memoryBreakdown();
  const timer = setInterval(() => {
    const now = memoryBreakdown();
    if (now.rssMb > atPeak.rssMb) atPeak = now;
  }, intervalMs);
  const peak = () => Math.max(atPeak.rssMb, mb(process.memoryUsage().rss), mb(process.resourceUsage().maxRSS * 1024)); // maxRSS is in KiB
  return {
    peak,
    atPeak: () => atPeak,
    stop() {
      clearInterval(timer);
      return peak();
    },
  };
}

const children = new Set<ChildProcess>();

type WorkerMessage<Result, Progress> =
  | { type: "result"; ok: true; value: Result }
  | { type: "result"; ok: false; error: string }
  | { type: "progress"; value: Progress };

/** A worker stopped at its time limit; `progress` is the last progress it reported, if any. */
export class WorkerTimeoutError<Progress = unknown> extends Error {
  override readonly name = "WorkerTimeoutError";
  constructor(
    message: string,
    readonly progress: Progress | undefined,
  ) {
    super(message);
  }
}

/**
 * Runs `script` in a fresh Node process (one pid): a TypeScript file (relative to the repository
 * root) through `node --import tsx`, or a bundle from `bundleWorker` with plain `node`, after
 * `nodeArgs` (e.g. `--cpu-prof`). It hands it `job` as JSON in BENCH_WORKER_JOB, and resolves
 * with the result it sends back. Its stdout and stderr are relayed to our stderr. Past
 * `timeoutMs` it is stopped and the promise rejects with a WorkerTimeoutError carrying the
 * last progress it reported.
 */
export async function runWorker<Result, Progress = unknown>(
  script: string,
  job: unknown,
  options: { label: string; timeoutMs: number; nodeArgs?: readonly string[] },
): Promise<Result> {
  const loader = /\.m?js$/.test(script) ? [] : ["--import", "tsx"];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script], {
    cwd: root,
    env: { ...process.env, BENCH_WORKER_JOB: JSON.stringify(job) },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  children.add(child);
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) process.stderr.write(`[${options.label}] ${line}\n`);
  };
  child.stdout?.on("data", relay);
  child.stderr?.on("data", relay);
  let result: Extract<WorkerMessage<Result, Progress>, { type: "result" }> | undefined;
  let progress: Progress | undefined;
  child.on("message", (message: WorkerMessage<Result, Progress>) => {
    if (message.type === "progress") progress = message.value;
    else result = message;
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const timer = new AbortController();
  const timedOut = sleep(options.timeoutMs, "timeout" as const, { signal: timer.signal }).catch(() => "cancelled" as const);
  const outcome = await Promise.race([exited, timedOut]);
  timer.abort();
  if (outcome === "timeout" || outcome === "cancelled") {
    await stopChild(child);
    children.delete(child);
    throw new WorkerTimeoutError(`${options.label} did not finish within ${Math.round(options.timeoutMs / 1000)} s`, progress);
  }
  children.delete(child);
  const [code, signal] = outcome;
  if (result?.ok) return result.value;
  throw new Error(`${options.label} failed (exit ${code ?? signal}): ${result && !result.ok ? result.error : "no result"}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), sleep(5_000, false)]);
  if (!stopped) {
    child.kill("SIGKILL");
    await exited;
  }
}

export async function stopWorkers(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

// Last resort: no worker outlives the bench.
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** In a worker: the job the parent sent. */
export function workerJob<Job>(): Job {
  const raw = process.env.BENCH_WORKER_JOB;
  if (!raw || !process.send) throw new Error("this script is a worker: run it through its benchmark");
  return JSON.parse(raw) as Job;
}

/** In a worker: tell the parent how far it got (kept in case the worker is stopped at its time limit). */
export function reportProgress<Progress>(value: Progress): void {
  process.send?.({ type: "progress", value });
}

/** In a worker: send the result (or the error) to the parent, then exit. */
export async function reportToParent<Result>(work: () => Promise<Result>): Promise<never> {
  let message: WorkerMessage<Result, never>;
  try {
    message = { type: "result", ok: true, value: await work() };
  } catch (error) {
    message = { type: "result", ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  await new Promise<void>((resolve) => process.send?.(message, () => resolve()));
  process.exit(message.ok ? 0 : 1);
}

/** The tests' seeded PRNG (mulberry32), so every run generates the same users and events. */
export { seededRandom } from "../../test/support/random.js";
