import type { ClerkUserEventType } from "../../lib/clerk/user-payload.js";
import type { InngestClient } from "../client.js";
import { clerkUserCreated, clerkUserDeleted, clerkUserUpdated } from "../events.js";
import { type SyncFunctionDeps, perUserConcurrency, recordFailure, toDeleteEvent, toUpsertEvent, webhookOrigin } from "./apply-clerk-user-event.js";

/**
 * Each Clerk user event's function: its deployed id (Inngest files a function's runs and
 * history under it: never rename one; test/inngest/functions/registry.test.ts) and trigger.
 */
const syncClerkUserFunctions = {
  "user.created": { id: "sync-clerk-user-created", trigger: clerkUserCreated },
  "user.updated": { id: "sync-clerk-user-updated", trigger: clerkUserUpdated },
  "user.deleted": { id: "sync-clerk-user-deleted", trigger: clerkUserDeleted },
} as const satisfies Record<ClerkUserEventType, { id: `sync-clerk-user-${string}`; trigger: { name: `clerk/${ClerkUserEventType}` } }>;

/**
 * `sync-clerk-user-created`, `-updated` and `-deleted`: one function per Clerk user event,
 * all three from this one definition. Each validates Clerk's payload (a bad one stops with
 * `NonRetriableError`), applies it through the sync rules, then publishes the app events the
 * change wrote into the user's outbox. Runs are serialised per user across all three; a run
 * that fails for good is written to the audit trail, and the next reconciliation repairs it.
 */
export function createSyncClerkUserFunctions(inngest: InngestClient, deps: SyncFunctionDeps) {
  return (Object.keys(syncClerkUserFunctions) as ClerkUserEventType[]).map((type) =>
    inngest.createFunction(
      {
        id: syncClerkUserFunctions[type].id,
        triggers: [syncClerkUserFunctions[type].trigger],
        concurrency: perUserConcurrency,
        onFailure: recordFailure(deps),
      },
      async ({ event, step, logger }) => {
        const origin = webhookOrigin(event);
        const change = type === "user.deleted" ? toDeleteEvent(event.data, event.ts, origin) : toUpsertEvent(event.data, origin);
        const outcome = await step.run("apply-to-mongodb", async () => (await deps.users()).apply(change));
        await step.run("publish-app-events", async () => (await deps.outbox()).publish([change.userId]));
        logger.info({ eventId: event.id, userId: change.userId, outcome }, "Clerk user event applied");
        return outcome;
      },
    ),
  );
}
