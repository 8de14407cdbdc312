import type { InngestClient } from "../client.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";
import { createPublishAppEvents, type PublishAppEventsDeps } from "./publish-app-events.js";
import { createSendWelcomeEmail, type WelcomeEmailFunctionDeps } from "./send-welcome-email.js";
import { createPublishPendingAppEvents } from "./publish-pending-app-events.js";
import { createPurgeDeletedUsers } from "./purge-deleted-users.js";
import { createPurgeSessionActivity, type PurgeSessionActivityDeps } from "./purge-session-activity.js";
import type { SessionActivityFunctionDeps } from "./record-session-activity.js";
import { createRecordSessionCreated } from "./record-session-created.js";
import { createRecordSessionEnded } from "./record-session-ended.js";
import { createRecordSessionRemoved } from "./record-session-removed.js";
import { createRecordSessionRevoked } from "./record-session-revoked.js";
import { createReconcileUsers } from "./reconcile-users.js";
import { createResyncUser } from "./resync-user.js";
import { createSyncClerkUserCreated } from "./sync-clerk-user-created.js";
import { createSyncClerkUserDeleted } from "./sync-clerk-user-deleted.js";
import { createSyncClerkUserUpdated } from "./sync-clerk-user-updated.js";
import { createSyncClerkMembership, createSyncClerkOrganization } from "./sync-clerk-organization.js";

/** Every function `api/inngest.ts` serves. */
export type AllFunctionDeps = FunctionDeps &
  SessionActivityFunctionDeps &
  PurgeSessionActivityDeps &
  PublishAppEventsDeps &
  WelcomeEmailFunctionDeps;

export function createFunctions(inngest: InngestClient, deps: AllFunctionDeps) {
  return [
    createSyncClerkUserCreated(inngest, deps),
    createSyncClerkUserUpdated(inngest, deps),
    createSyncClerkUserDeleted(inngest, deps),
    createSyncClerkOrganization(inngest, deps),
    createSyncClerkMembership(inngest, deps),
    createReconcileUsers(inngest, deps),
    createPurgeDeletedUsers(inngest, deps),
    createResyncUser(inngest, deps),
    createPublishPendingAppEvents(inngest, deps),
    createRecordSessionCreated(inngest, deps),
    createRecordSessionEnded(inngest, deps),
    createRecordSessionRemoved(inngest, deps),
    createRecordSessionRevoked(inngest, deps),
    createPurgeSessionActivity(inngest, deps),
    createPublishAppEvents(inngest, deps),
    createSendWelcomeEmail(inngest, deps.welcomeEmail),
  ];
}
