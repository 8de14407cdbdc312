/**
 * `npm run bench`: every benchmark, one after the other, each in its own process so their
 * memory and timings do not mix. Figures (`name: value unit`) on stdout, progress on stderr.
 * Needs MONGODB_URI (a MongoDB-wire server; `eval "$(bash ../shared/tools/ferretdb.sh start)"`).
 * BENCH_ONLY=api,reconciliation,sync-core,nats,organizations picks some of them.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const suites = {
  api: "run.ts", // GET /api/me vs a bare floor, token verification, cold starts (issue: user API)
  reconciliation: "reconciliation.ts", // ours vs naive at 10k, ours at 100k (issue: reconciliation)
  "sync-core": "sync-core.ts", // 50k webhook events through the store vs a naive handler
  nats: "nats.ts", // JetStream publish rate, webhook → stream latency (issue: downstream)
  organizations: "organizations.ts", // 50k user/org/membership events vs a naive handler, convergence, members page (issue 17)
} as const;

if (!process.env.MONGODB_URI) {
  process.stderr.write('npm run bench needs MONGODB_URI. Start a MongoDB-wire server first:\n  eval "$(bash ../shared/tools/ferretdb.sh start)"\n');
  process.exit(2);
}
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const selected = Object.entries(suites).filter(([name]) => !only || only.includes(name));

let failed = 0;
for (const [name, file] of selected) {
  process.stderr.write(`\n== bench: ${name} ==\n`);
  const script = fileURLToPath(new URL(file, import.meta.url));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("exit", (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0) {
    failed += 1;
    process.stderr.write(`bench ${name} exited with ${code}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
