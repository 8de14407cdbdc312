import type { InngestClient } from "../client.js";
import { clerkUserUpdated } from "../events.js";
import { type SyncFunctionDeps, perUserConcurrency, recordFailure, toUpsertEvent, webhookOrigin } from "./apply-clerk-user-event.js";

export function createSyncClerkUserUpdated(inngest: InngestClient, deps: SyncFunctionDeps) {
  return inngest.createFunction(
    {
      id: "sync-clerk-user-updated",
      triggers: [clerkUserUpdated],
      concurrency: perUserConcurrency,
      onFailure: recordFailure(deps),
    },
    async ({ event, step, logger }) => {
      const change = toUpsertEvent(event.data, webhookOrigin(event));
      const outcome = await step.run("apply-to-mongodb", async () => (await deps.users()).apply(change));
      await step.run("publish-app-events", async () => (await deps.outbox()).publish([change.userId]));
      logger.info({ eventId: event.id, userId: change.userId, outcome }, "Clerk user event applied");
      return outcome;
    },
  );
}
