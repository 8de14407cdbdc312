/**
 * `npm run sync [-- --dry-run] [-- --force]`: reconcile MongoDB with the configured Clerk instance
 * from the command line: the same reconciliation the scheduled Inngest function runs. This is
 * how a team adopting the service imports its existing Clerk users (a backfill). `--force`
 * rewrites every user from Clerk whatever the stored version (after a mapping fix). A run
 * that did not finish (a crash, Ctrl-C) is resumed from its last checkpoint by the next
 * `npm run sync` of the same mode.
 * Reads .env if present. Exit codes: 0 done, 1 some users failed, 2 bad usage or configuration.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, parseSyncCliConfig, type SyncCliConfig } from "../lib/config.js";
import { closeMongoConnections } from "../lib/db/connection.js";
import { createLogger } from "../lib/logger.js";
import type { ReconcileCounts } from "../lib/reconcile/counts.js";
import type { ReconcileDeps } from "../lib/reconcile/reconcile-chunks.js";
import { type OrganizationCounts, runOrganizationReconciliation } from "../lib/reconcile/reconcile-organizations.js";
import { runReconciliation, startOrResumeRun } from "../lib/reconcile/run-reconciliation.js";
import { createSyncCore, type SyncCore } from "../lib/sync-core.js";

const usage = "usage: npm run sync [-- --dry-run] [-- --force] | npm run sync -- status";

async function main(): Promise<number> {
  let dryRun: boolean;
  let force: boolean;
  let command: "reconcile" | "status";
  try {
    const { values, positionals } = parseArgs({
      options: { "dry-run": { type: "boolean", default: false }, force: { type: "boolean", default: false } },
      allowPositionals: true,
      strict: true,
    });
    dryRun = values["dry-run"] ?? false;
    force = values.force ?? false;
    if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== "status")) throw new Error(`unknown command: ${positionals.join(" ")}`);
    command = positionals[0] === "status" ? "status" : "reconcile";
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (existsSync(".env")) process.loadEnvFile(".env");
  let config: ReturnType<typeof parseSyncCliConfig>;
  try {
    config = parseSyncCliConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }

  const logger = createLogger(process.env.LOG_LEVEL ?? "warn", { write: (line: string) => void process.stderr.write(line) });
  // The CLI has no Inngest: app events stay in the users' outboxes for the sweep (publish-pending-app-events).
  const core = await createSyncCore(config, {
    logger,
    sendEvents: () => Promise.reject(new Error("npm run sync does not publish app events: the outbox sweep does")),
  });
  try {
    if (command === "status") return await printStatus(core, config.status);
    const deps: ReconcileDeps = { directory: core.directory, store: core.store, users: core.users, reports: core.reports, logger };
    const run = await startOrResumeRun(deps, "cli", { dryRun, force });
    const state = await core.reports.state(run.id);
    if (run.resumed) process.stderr.write(`resuming run ${run.id} (${run.phase}, offset ${state?.offset ?? 0}) from its checkpoint\n`);
    const progress = createProgressBar(state?.total ?? (await core.directory.count()));
    const printDrift = (change: string, what: string) => process.stdout.write(`drift: ${change} ${what}\n`);

    const started = Date.now();
    // The audit trail and the app events name the run that made each change.
    const counts = await runReconciliation(deps, run, {
      onProgress: ({ phase, counts: sofar }) => progress.update(phase, sofar),
      onDrift: (drift) => {
        if (dryRun) for (const item of drift) printDrift(item.change, item.userId);
      },
    });
    progress.done();
    // Organizations and their members, through the same rules (a dry run only reports their drift).
    const organizations = await runOrganizationReconciliation(
      { ...core, logger },
      { runId: run.id, dryRun, onDrift: (drift) => dryRun && drift.forEach((item) => printDrift(item.change, `${item.entity} ${item.id}`)) },
    );
    await core.reports.finish(run.id, { counts, organizations });

    const seconds = ((Date.now() - started) / 1_000).toFixed(1);
    process.stdout.write(`${dryRun ? "dry run (nothing written)" : force ? "re-derived (forced)" : "reconciled"} in ${seconds} s: ${formatCounts(counts)}\n`);
    process.stdout.write(`organizations: ${formatCounts(organizations)}\n`);
    return counts.failed > 0 || organizations.failed > 0 ? 1 : 0;
  } finally {
    await closeMongoConnections();
  }
}

/** `npm run sync -- status`: the sync's health, as GET /api/admin/status reports it. Exit 0 ok or degraded, 1 stalled. */
async function printStatus(core: SyncCore, thresholds: SyncCliConfig["status"]): Promise<number> {
  const { status, reasons, figures } = await core.syncHealth(thresholds);
  process.stdout.write(`${JSON.stringify({ status, reasons, figures }, null, 2)}\n`);
  return status === "stalled" ? 1 : 0;
}

function formatCounts(counts: ReconcileCounts | OrganizationCounts): string {
  return Object.entries(counts)
    .map(([key, value]) => `${key} ${value}`)
    .join(", ");
}

/** A one-line progress bar on stderr (only when it is a terminal; plain lines otherwise). */
function createProgressBar(total: number) {
  const width = 30;
  const interactive = process.stderr.isTTY;
  let lastLine = "";
  return {
    update(phase: "scan" | "sweep", counts: ReconcileCounts) {
      const ratio = total === 0 ? 1 : Math.min(1, counts.scanned / total);
      const filled = Math.round(ratio * width);
      const line = `${phase} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${counts.scanned}/${total} ${formatCounts(counts)}`;
      if (line === lastLine) return;
      lastLine = line;
      process.stderr.write(interactive ? `\r${line}` : `${line}\n`);
    },
    done() {
      if (interactive) process.stderr.write("\n");
    },
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
