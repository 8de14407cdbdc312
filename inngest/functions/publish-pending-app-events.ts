import type { InngestClient } from "../client.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";

/**
 * The outbox's safety net: app events are published right after the write that produced
 * them; if that step never ran (a crash, a deploy), this finds them within minutes, in the
 * outboxes of users, organizations and memberships alike (up to 500 documents of each per
 * run). It is also how the events of writes that no sync function follows with a publish step
 * go out: the memberships a user's deletion ends, those created or refreshed just in time from
 * a session token, and `npm run sync`'s changes.
 */
export function createPublishPendingAppEvents(inngest: InngestClient, deps: FunctionDeps) {
  return inngest.createFunction(
    { id: "publish-pending-app-events", triggers: [{ cron: deps.schedule.outboxCron }], concurrency: { limit: 1 } },
    async ({ step }) => {
      const published = await step.run("publish", async () => (await deps.outbox()).publishPending(500));
      return { published };
    },
  );
}
