import type { InngestClient } from "../client.js";
import { clerkUserDeleted } from "../events.js";
import { type SyncFunctionDeps, perUserConcurrency, recordFailure, toDeleteEvent, webhookOrigin } from "./apply-clerk-user-event.js";

export function createSyncClerkUserDeleted(inngest: InngestClient, deps: SyncFunctionDeps) {
  return inngest.createFunction(
    {
      id: "sync-clerk-user-deleted",
      triggers: [clerkUserDeleted],
      concurrency: perUserConcurrency,
      onFailure: recordFailure(deps),
    },
    async ({ event, step, logger }) => {
      const change = toDeleteEvent(event.data, event.ts, webhookOrigin(event));
      const outcome = await step.run("apply-to-mongodb", async () => (await deps.users()).apply(change));
      await step.run("publish-app-events", async () => (await deps.outbox()).publish([change.userId]));
      logger.info({ eventId: event.id, userId: change.userId, outcome }, "Clerk user event applied");
      return outcome;
    },
  );
}
