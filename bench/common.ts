import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

/** The repository root (the bench runs every child from there, as `npm run dev` does). */
export const root = fileURLToPath(new URL("..", import.meta.url));

/** The only thing written to stdout: one `name: value unit` line per figure. */
export function figure(name: string, value: number, unit: string, digits = 2): void {
  process.stdout.write(`${name}: ${Number.isInteger(value) ? value : value.toFixed(digits)} ${unit}\n`);
}

/** Progress and diagnostics go to stderr. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A non-numeric fact about the run (date, commit), on stdout beside the figures: `name: value unit`. */
export function fact(name: string, value: string, unit: string): void {
  process.stdout.write(`${name}: ${value} ${unit}\n`);
}

/** The machine's CPU tick counters (Linux /proc/stat), to measure how busy it was between two samples. */
export interface HostCpuSample {
  idle: number;
  total: number;
}

export function sampleHostCpu(): HostCpuSample | undefined {
  try {
    const ticks = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: ticks[3]! + (ticks[4] ?? 0), total: ticks.reduce((sum, tick) => sum + tick, 0) };
  } catch {
    return undefined;
  }
}

/** How busy the whole machine was between two samples, in % of all its CPUs; undefined when unknown. */
export function hostCpuBusyBetween(before: HostCpuSample | undefined, after: HostCpuSample | undefined): number | undefined {
  if (!before || !after || after.total === before.total) return undefined;
  return 100 * (1 - (after.idle - before.idle) / (after.total - before.total));
}

/** How busy the whole machine is over `ms` (Linux /proc/stat), in %; undefined elsewhere. */
export async function hostCpuBusyPercent(ms = 1_000): Promise<number | undefined> {
  const before = sampleHostCpu();
  await sleep(ms);
  return hostCpuBusyBetween(before, sampleHostCpu());
}

/** The commit measured, marked `+dirty` when tracked files have uncommitted changes: figures belong to code. */
export function gitCommit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim() !== "";
    return dirty ? `${head}+dirty` : head;
  } catch {
    return "unknown";
  }
}

/**
 * What a run was measured on, as facts and figures on stdout under `prefix`: the date, the commit,
 * Node, the CPUs and how loaded the machine already was (load averages, and % busy over a second).
 */
export async function describeRun(prefix: string): Promise<void> {
  fact(`${prefix}_date`, new Date().toISOString(), "utc");
  fact(`${prefix}_commit`, gitCommit(), "git");
  fact(`${prefix}_node`, process.version, "version");
  figure(`${prefix}_cpus`, availableParallelism(), "cpus");
  const [one, five] = loadavg();
  figure(`${prefix}_load_average_1m`, one!, "load");
  figure(`${prefix}_load_average_5m`, five!, "load");
  const busy = await hostCpuBusyPercent();
  if (busy !== undefined) {
    figure(`${prefix}_host_cpu_busy_before`, busy, "%", 0);
    if (busy > 20) log(`warning: the machine is already ${Math.round(busy)}% busy before the bench starts; the figures will reflect that contention`);
  }
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const children = new Set<ChildProcess>();

export interface Child {
  process: ChildProcess;
  /** The last lines it printed, for error messages. */
  output(): string;
}

/**
 * A TypeScript script run as `node --import tsx <args>` (what the `tsx` CLI does, minus its
 * extra wrapper process, so one pid to stop). Its output is relayed to stderr, prefixed.
 */
export function spawnTs(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const tail: string[] = [];
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      process.stderr.write(`[${name}] ${line}\n`);
    }
  };
  child.stdout!.on("data", relay);
  child.stderr!.on("data", relay);
  return { process: child, output: () => tail.join("\n") };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!stopped) {
    child.kill("SIGKILL");
    await exited;
  }
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

// Last resort if the bench dies without running its cleanup: no child outlives it.
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Polls `url` until it answers 200; fails early if the server process exits. */
export async function waitUntilOk(url: string, headers: Record<string, string>, server: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (server.process.exitCode !== null) throw new Error(`server exited (${server.process.exitCode}) before answering ${url}:\n${server.output()}`);
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) });
      const body = await response.text();
      if (response.status === 200) return;
      last = `${response.status} ${body.slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})\n${server.output()}`);
}
