import type { InngestClient } from "../client.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";
import { createPublishPendingAppEvents } from "./publish-pending-app-events.js";
import { createPurgeDeletedUsers } from "./purge-deleted-users.js";
import { createReconcileUsers } from "./reconcile-users.js";
import { createResyncUser } from "./resync-user.js";
import { createSyncClerkUserCreated } from "./sync-clerk-user-created.js";
import { createSyncClerkUserDeleted } from "./sync-clerk-user-deleted.js";
import { createSyncClerkUserUpdated } from "./sync-clerk-user-updated.js";

/** Every function `api/inngest.ts` serves. */
export function createFunctions(inngest: InngestClient, deps: FunctionDeps) {
  return [
    createSyncClerkUserCreated(inngest, deps),
    createSyncClerkUserUpdated(inngest, deps),
    createSyncClerkUserDeleted(inngest, deps),
    createReconcileUsers(inngest, deps),
    createPurgeDeletedUsers(inngest, deps),
    createResyncUser(inngest, deps),
    createPublishPendingAppEvents(inngest, deps),
  ];
}
