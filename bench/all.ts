/**
 * `npm run bench`: every benchmark, one after the other, each in its own process so their
 * memory and timings do not mix. Figures (`name: value unit`) on stdout, progress on stderr;
 * last, on stderr, the targets the project holds itself to (issue 18), each with the figure of
 * this run that answers it: met, not met, or not measured (a suite skipped or stopped early).
 * Needs MONGODB_URI (a MongoDB-wire server; `eval "$(bash ../shared/tools/ferretdb.sh start)"`).
 * BENCH_ONLY=api,reconciliation,sync-core,nats,organizations picks some of them.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const suites = {
  api: "run.ts", // GET /api/me vs a bare floor, token verification, cold starts (issue: user API)
  reconciliation: "reconciliation.ts", // ours vs naive at 10k, ours at 100k (issue: reconciliation)
  "sync-core": "sync-core.ts", // 50k Clerk user events through the deployed functions vs a naive handler
  nats: "nats.ts", // JetStream publish rate, webhook → stream latency (issue: downstream)
  organizations: "organizations.ts", // 50k user/org/membership events vs a naive handler, convergence, members page (issue 17)
} as const;

/** A target: the figure that answers it, and which side of the bound is good. */
interface Target {
  what: string;
  figure: string;
  atLeast?: number;
  below?: number;
}

const targets: readonly Target[] = [
  { what: "Clerk user events, ours over naive events/s (worst of the rounds)", figure: "sync_core_ours_vs_naive_throughput_worst", atLeast: 5 },
  { what: "reconciliation 10k steady, naive time over ours (CLI path, worst round)", figure: "reconcile_10k_steady_ours_cli_speedup_worst", atLeast: 10 },
  { what: "reconciliation 10k cold, naive time over ours (CLI path, worst round)", figure: "reconcile_10k_cold_ours_cli_speedup_worst", atLeast: 3 },
  { what: "reconciliation 100k cold, peak RSS (MB)", figure: "reconcile_100k_cold_ours_cli_peak_rss_mb_worst", below: 200 },
  { what: "reconciliation 100k steady, peak RSS (MB)", figure: "reconcile_100k_steady_ours_cli_peak_rss_mb_worst", below: 200 },
  { what: "GET /api/me over its floor, req/s (worst of the rounds)", figure: "me_vs_floor_throughput_ratio_worst", atLeast: 0.8 },
  { what: "GET /api/me server CPU over the floor's (worst round)", figure: "me_vs_floor_server_cpu_worst", below: 2 },
];

if (!process.env.MONGODB_URI) {
  process.stderr.write('npm run bench needs MONGODB_URI. Start a MongoDB-wire server first:\n  eval "$(bash ../shared/tools/ferretdb.sh start)"\n');
  process.exit(2);
}
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const selected = Object.entries(suites).filter(([name]) => !only || only.includes(name));

const figures = new Map<string, number>();
const figureLine = /^([a-z0-9_]+): (-?[0-9.]+)(?: |$)/;

let failed = 0;
for (const [name, file] of selected) {
  process.stderr.write(`\n== bench: ${name} ==\n`);
  const script = fileURLToPath(new URL(file, import.meta.url));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
    createInterface({ input: child.stdout }).on("line", (line) => {
      process.stdout.write(`${line}\n`);
      const match = figureLine.exec(line);
      if (match) figures.set(match[1] as string, Number(match[2]));
    });
    child.on("close", (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0) {
    failed += 1;
    process.stderr.write(`bench ${name} exited with ${code}\n`);
  }
}

process.stderr.write("\n== targets (issue 18), from this run ==\n");
for (const target of targets) {
  const value = figures.get(target.figure);
  const bound = target.atLeast !== undefined ? `>= ${target.atLeast}` : `< ${target.below}`;
  const verdict = value === undefined ? "not measured" : (target.atLeast !== undefined ? value >= target.atLeast : value < (target.below as number)) ? "met" : "NOT met";
  process.stderr.write(`${verdict.padEnd(12)} ${target.what}: ${value ?? "-"} (target ${bound}; ${target.figure})\n`);
}
process.exit(failed > 0 ? 1 : 0);
