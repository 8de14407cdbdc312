import type { ActivityStore } from "../../lib/activity/activity-store.js";
import type { InngestClient } from "../client.js";

export interface PurgeSessionActivityDeps {
  activity: () => Promise<ActivityStore>;
  /** ACTIVITY_PURGE_CRON and ACTIVITY_RETENTION_DAYS; daily and 90 days when not given. */
  activitySchedule?: { purgeCron: string; retentionMs: number };
}

const defaultActivitySchedule = { purgeCron: "45 3 * * *", retentionMs: 90 * 86_400_000 } as const;

/**
 * Daily: deletes sign-in activity older than the retention period, in one `deleteMany`.
 * A scheduled delete, not a TTL index: it runs, and is tested, the same on every
 * MongoDB-compatible server (FerretDB has no TTL indexes).
 */
export function createPurgeSessionActivity(inngest: InngestClient, deps: PurgeSessionActivityDeps) {
  const schedule = deps.activitySchedule ?? defaultActivitySchedule;
  return inngest.createFunction(
    { id: "purge-session-activity", triggers: [{ cron: schedule.purgeCron }], concurrency: { limit: 1 } },
    async ({ step, logger }) => {
      const purged = await step.run("purge", async () => {
        const cutoff = new Date(Date.now() - schedule.retentionMs);
        const count = await (await deps.activity()).purgeOlderThan(cutoff);
        logger.info({ purged: count, cutoff }, "purged old session activity");
        return count;
      });
      return { purged };
    },
  );
}
