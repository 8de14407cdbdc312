import { addOrganizationCounts, emptyOrganizationCounts, reconcileOrganizationsPage, sweepOrganizations } from "../../lib/reconcile/reconcile-organizations.js";
import { type RunRef, scanChunk, sweepChunk } from "../../lib/reconcile/reconcile-chunks.js";
import type { RunPhase } from "../../lib/reconcile/run-reports.js";
import type { InngestClient } from "../client.js";
import { usersReconcileRequested } from "../events.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";

/**
 * The scheduled layer of consistency: compares every Clerk user with MongoDB and repairs
 * what webhooks and the just-in-time fallback missed. Each chunk of pages is a step that
 * starts from the run's checkpoint in its report, so a crash or a retried step resumes after
 * the last batch written. A singleton: a request (or the cron) arriving while a run is in
 * progress is skipped, so two runs never overlap. `force` rewrites every user from Clerk
 * (after a mapping fix); `dryRun` writes nothing, organizations included.
 */
export function createReconcileUsers(inngest: InngestClient, deps: FunctionDeps) {
  return inngest.createFunction(
    {
      id: "reconcile-users",
      triggers: [{ cron: deps.schedule.reconcileCron }, usersReconcileRequested],
      singleton: { mode: "skip" },
      retries: 3,
    },
    async ({ event, step, runId }) => {
      const requested = event.name === usersReconcileRequested.name;
      // `force` is read defensively: the event schema (inngest/events.ts) lists dryRun and requestedBy.
      const data: { dryRun?: unknown; force?: unknown; requestedBy?: unknown } = requested ? event.data : {};
      const dryRun = data.dryRun === true;
      const force = data.force === true;
      const requestedBy = typeof data.requestedBy === "string" ? data.requestedBy : undefined;
      const trigger = requested ? "event" : "cron";
      // The report id comes out of a step, so every replay of this run uses the same one.
      const run: RunRef = await step.run("start-report", async () => {
        const services = await deps.maintenance();
        const total = await services.directory.count();
        await services.reports.start(runId, trigger, dryRun, new Date(), { force, requestedBy, owner: runId, total });
        return { id: runId, owner: runId };
      });

      let phase: RunPhase = "scan";
      for (let chunk = 0; phase === "scan"; chunk += 1) {
        phase = await step.run(`scan-${chunk}`, async () => (await scanChunk(await deps.maintenance(), run)).phase);
      }
      for (let chunk = 0; phase === "sweep"; chunk += 1) {
        phase = await step.run(`sweep-${chunk}`, async () => (await sweepChunk(await deps.maintenance(), run)).phase);
      }

      // Then organizations and their members, a page of organizations a step (a dry run only counts).
      const organizations = emptyOrganizationCounts();
      const seen: string[] = [];
      let organizationOffset: number | null = 0;
      for (let chunk = 0; organizationOffset !== null; chunk += 1) {
        const from: number = organizationOffset;
        const page = await step.run(`organizations-${chunk}`, async () => reconcileOrganizationsPage(await deps.maintenance(), from, { runId: run.id, dryRun }));
        addOrganizationCounts(organizations, page.counts);
        seen.push(...page.seen);
        organizationOffset = page.next;
      }
      addOrganizationCounts(organizations, await step.run("organizations-sweep", async () => sweepOrganizations(await deps.maintenance(), new Set(seen), { runId: run.id, dryRun })));

      return step.run("finish-report", async () => {
        const services = await deps.maintenance();
        const state = await services.reports.state(run.id);
        if (!state) throw new Error(`reconciliation run ${run.id} lost its report`);
        const { counts, startedAt } = state;
        // Syncs that exhausted their retries since the previous run: this run has just repaired them.
        const previous = (await services.reports.latest(2)).find((report) => report._id !== run.id);
        const failures = await services.audit.countFailuresSince(previous?.startedAt ?? new Date(0));
        await services.reports.finish(run.id, { counts, organizations, syncFailuresSincePreviousRun: failures, startedAt });
        services.logger.info({ runId: run.id, trigger, dryRun, force, ...counts, organizations, syncFailures: failures }, "reconciliation finished");
        return { ...counts, organizations, syncFailuresSincePreviousRun: failures };
      });
    },
  );
}
