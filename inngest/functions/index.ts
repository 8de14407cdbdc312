import type { InngestClient } from "../client.js";
import type { SyncFunctionDeps } from "./apply-clerk-user-event.js";
import { createSyncClerkUserCreated } from "./sync-clerk-user-created.js";
import { createSyncClerkUserDeleted } from "./sync-clerk-user-deleted.js";
import { createSyncClerkUserUpdated } from "./sync-clerk-user-updated.js";

/** Every function `api/inngest.ts` serves. */
export function createFunctions(inngest: InngestClient, deps: SyncFunctionDeps) {
  return [
    createSyncClerkUserCreated(inngest, deps),
    createSyncClerkUserUpdated(inngest, deps),
    createSyncClerkUserDeleted(inngest, deps),
  ];
}
