import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { figure, log, median, root } from "./common.js";

const runs = 3;
const budgetMs = 300;

/** Runs in the fresh process: the time of the `import()` alone, after Node and tsx have started. */
const importScript = `
const started = performance.now();
await import(process.env.BENCH_IMPORT_URL);
process.stdout.write(String(performance.now() - started));
`;

/**
 * Cold start of every function in api/: the time to `import()` it in a fresh Node process
 * (through tsx's loader, as `npm run dev` loads it), median of 3. The process gets no
 * configuration at all: importing a function must not need it (deps are built on the
 * first request). A module that fails to import, or keeps the process alive, is reported.
 */
export async function benchColdStart(): Promise<void> {
  const apiDir = join(root, "api");
  const modules = readdirSync(apiDir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .sort();
  let max = 0;
  for (const file of modules) {
    const times: number[] = [];
    for (let run = 0; run < runs; run += 1) times.push(await importOnce(join(apiDir, file)));
    const ms = median(times);
    max = Math.max(max, ms);
    figure(`cold_import_${`api/${file}`.replace(/\.ts$/, "").replace(/[^A-Za-z0-9]+/g, "_").replace(/_+$/, "")}`, ms, "ms", 0);
    if (ms > budgetMs) log(`api/${file}: ${Math.round(ms)} ms to import, over the ${budgetMs} ms budget`);
  }
  figure("cold_import_max", max, "ms", 0);
}

async function importOnce(file: string): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", importScript], {
    cwd: root,
    // Nothing of the project's configuration: only what Node itself needs.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_IMPORT_URL: pathToFileURL(file).href },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  const exitedAlone = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
  if (!exitedAlone) {
    child.kill("SIGKILL");
    await exited;
    log(`${file}: the process was still running 15 s after the import (something at import time keeps it alive)`);
  }
  const ms = Number(stdout.trim());
  if (child.exitCode !== 0 && exitedAlone) throw new Error(`importing ${file} failed (exit ${child.exitCode}):\n${stderr.trim()}`);
  if (!Number.isFinite(ms) || stdout.trim() === "") throw new Error(`importing ${file} printed no time:\n${stderr.trim()}`);
  if (stderr.trim()) log(`${file} wrote to stderr on import: ${stderr.trim().split("\n")[0]}`);
  return ms;
}
