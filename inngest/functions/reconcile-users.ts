import { addCounts, emptyCounts } from "../../lib/reconcile/counts.js";
import { scanChunk, sweepChunk } from "../../lib/reconcile/reconcile-chunks.js";
import { addOrganizationCounts, emptyOrganizationCounts, reconcileOrganizationsPage, sweepOrganizations } from "../../lib/reconcile/reconcile-organizations.js";
import type { InngestClient } from "../client.js";
import { usersReconcileRequested } from "../events.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";

/**
 * The scheduled layer of consistency: compares every Clerk user with MongoDB and repairs
 * what webhooks and the just-in-time fallback missed. Each chunk of pages is a step, so a
 * crash or timeout resumes where it stopped; one run at a time.
 */
export function createReconcileUsers(inngest: InngestClient, deps: FunctionDeps) {
  return inngest.createFunction(
    {
      id: "reconcile-users",
      triggers: [{ cron: deps.schedule.reconcileCron }, usersReconcileRequested],
      concurrency: { limit: 1 },
      retries: 3,
    },
    async ({ event, step, runId }) => {
      const dryRun = event.name === usersReconcileRequested.name && event.data?.dryRun === true;
      const trigger = event.name === usersReconcileRequested.name ? "event" : "cron";
      // The report id comes out of a step, so every replay of this run uses the same one.
      const reportId = await step.run("start-report", async () => {
        await (await deps.maintenance()).reports.start(runId, trigger, dryRun);
        return runId;
      });

      const totals = emptyCounts();
      let offset: number | null = 0;
      for (let chunk = 0; offset !== null; chunk += 1) {
        const from: number = offset;
        const result = await step.run(`scan-${chunk}`, async () => {
          const { drift: _drift, ...rest } = await scanChunk(await deps.maintenance(), from, { dryRun, runId: reportId });
          return rest;
        });
        addCounts(totals, result.counts);
        offset = result.next;
      }
      let afterId: string | null = null;
      for (let chunk = 0; chunk === 0 || afterId !== null; chunk += 1) {
        const from: string | null = afterId;
        const result = await step.run(`sweep-${chunk}`, async () => {
          const { drift: _drift, ...rest } = await sweepChunk(await deps.maintenance(), from, { dryRun, runId: reportId });
          return rest;
        });
        addCounts(totals, result.counts);
        afterId = result.next;
      }

      // Then organizations and their members (not in a dry run): a page of organizations a step.
      const organizations = emptyOrganizationCounts();
      if (!dryRun) {
        const seen: string[] = [];
        let organizationOffset: number | null = 0;
        for (let chunk = 0; organizationOffset !== null; chunk += 1) {
          const from: number = organizationOffset;
          const page = await step.run(`organizations-${chunk}`, async () => reconcileOrganizationsPage(await deps.maintenance(), from, { runId: reportId }));
          addOrganizationCounts(organizations, page.counts);
          seen.push(...page.seen);
          organizationOffset = page.next;
        }
        addOrganizationCounts(organizations, await step.run("organizations-sweep", async () => sweepOrganizations(await deps.maintenance(), new Set(seen), { runId: reportId })));
      }

      const syncFailures = await step.run("finish-report", async () => {
        const services = await deps.maintenance();
        // Syncs that exhausted their retries since the previous run: this run has just repaired them.
        const previous = (await services.reports.latest(2)).find((run) => run._id !== reportId);
        const failures = await services.audit.countFailuresSince(previous?.startedAt ?? new Date(0));
        await services.reports.finish(reportId, { counts: totals, organizations, syncFailuresSincePreviousRun: failures });
        services.logger.info({ runId: reportId, trigger, dryRun, ...totals, organizations, syncFailures: failures }, "reconciliation finished");
        return failures;
      });
      return { ...totals, organizations, syncFailuresSincePreviousRun: syncFailures };
    },
  );
}
