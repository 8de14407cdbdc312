import type { InngestClient } from "../client.js";
import { clerkUserCreated } from "../events.js";
import { type SyncFunctionDeps, perUserConcurrency, toUpsertEvent } from "./apply-clerk-user-event.js";

export function createSyncClerkUserCreated(inngest: InngestClient, deps: SyncFunctionDeps) {
  return inngest.createFunction(
    { id: "sync-clerk-user-created", triggers: [clerkUserCreated], concurrency: perUserConcurrency },
    async ({ event, step }) => {
      const change = toUpsertEvent(event.data);
      return step.run("apply-to-mongodb", async () => (await deps.users()).apply(change));
    },
  );
}
