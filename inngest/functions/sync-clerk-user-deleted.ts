import type { InngestClient } from "../client.js";
import { clerkUserDeleted } from "../events.js";
import { type SyncFunctionDeps, perUserConcurrency, toDeleteEvent } from "./apply-clerk-user-event.js";

export function createSyncClerkUserDeleted(inngest: InngestClient, deps: SyncFunctionDeps) {
  return inngest.createFunction(
    { id: "sync-clerk-user-deleted", triggers: [clerkUserDeleted], concurrency: perUserConcurrency },
    async ({ event, step, logger }) => {
      const change = toDeleteEvent(event.data, event.ts);
      const outcome = await step.run("apply-to-mongodb", async () => (await deps.users()).apply(change));
      logger.info({ eventId: event.id, userId: change.userId, outcome }, "Clerk user event applied");
      return outcome;
    },
  );
}
