import type { InngestClient } from "../client.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";

/**
 * The outbox's safety net: app events are published right after the write that produced
 * them; if that step never ran (a crash, a deploy), this finds them within minutes.
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
