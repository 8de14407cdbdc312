import type { InngestClient } from "../client.js";
import { clerkUserCreated } from "../events.js";
import { type SyncFunctionDeps, perUserConcurrency, toUpsertEvent } from "./apply-clerk-user-event.js";

export function createSyncClerkUserCreated(inngest: InngestClient, deps: SyncFunctionDeps) {
  return inngest.createFunction(
    { id: "sync-clerk-user-created", triggers: [clerkUserCreated], concurrency: perUserConcurrency },
    async ({ event, step, logger }) => {
      const change = toUpsertEvent(event.data);
      const outcome = await step.run("apply-to-mongodb", async () => (await deps.users()).apply(change));
      logger.info({ eventId: event.id, userId: change.userId, outcome }, "Clerk user event applied");
      return outcome;
    },
  );
}
