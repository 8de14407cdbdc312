import type { InngestClient } from "../client.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";
import { createPublishAppEvents, type PublishAppEventsDeps } from "./publish-app-events.js";
import { createSendWelcomeEmail, type WelcomeEmailFunctionDeps } from "./send-welcome-email.js";
import { createPublishPendingAppEvents } from "./publish-pending-app-events.js";
import { createPurgeDeletedUsers } from "./purge-deleted-users.js";
import { createPurgeSessionActivity, type PurgeSessionActivityDeps } from "./purge-session-activity.js";
import { createRecordSessionFunctions, type SessionActivityFunctionDeps } from "./record-session.js";
import { createReconcileUsers } from "./reconcile-users.js";
import { createResyncUser } from "./resync-user.js";
import { createSyncClerkUserFunctions } from "./sync-clerk-user.js";
import { createSyncClerkMembership, createSyncClerkOrganization } from "./sync-clerk-organization.js";

/** Every function `api/inngest.ts` serves. */
export type AllFunctionDeps = FunctionDeps &
  SessionActivityFunctionDeps &
  PurgeSessionActivityDeps &
  PublishAppEventsDeps &
  WelcomeEmailFunctionDeps;

/**
 * One file per function, named after its id, except for two families that differ only in
 * their trigger: `sync-clerk-user.ts` makes `sync-clerk-user-created|updated|deleted` and
 * `record-session.ts` makes `record-session-created|ended|removed|revoked`, each from one
 * definition. The trade-off: `grep -r <function id>` finds them in a table at the top of
 * their family's file rather than as a file name, and a change to one is a change to all,
 * which is the point. They stay separate Inngest functions (not one function with several
 * triggers) because the ids are deployed: Inngest keeps each one's runs and history under it.
 * test/inngest/functions/registry.test.ts pins every id and concurrency key.
 */
export function createFunctions(inngest: InngestClient, deps: AllFunctionDeps) {
  return [
    ...createSyncClerkUserFunctions(inngest, deps),
    createSyncClerkOrganization(inngest, deps),
    createSyncClerkMembership(inngest, deps),
    createReconcileUsers(inngest, deps),
    createPurgeDeletedUsers(inngest, deps),
    createResyncUser(inngest, deps),
    createPublishPendingAppEvents(inngest, deps),
    ...createRecordSessionFunctions(inngest, deps),
    createPurgeSessionActivity(inngest, deps),
    createPublishAppEvents(inngest, deps),
    createSendWelcomeEmail(inngest, deps.welcomeEmail),
  ];
}
