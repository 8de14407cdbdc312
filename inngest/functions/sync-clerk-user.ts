import { NonRetriableError } from "inngest";
import type { ClerkUserEventType } from "../../lib/clerk/user-payload.js";
import type { SyncOutcome } from "../../lib/sync/types.js";
import type { InngestClient } from "../client.js";
import { clerkUserCreated, clerkUserDeleted, clerkUserUpdated } from "../events.js";
import { type ClerkUserInngestEvent, type SyncFunctionDeps, parseUserEvent, recordUnapplied, unappliedEvent } from "./apply-clerk-user-event.js";

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
 * Inngest hands each run up to `maxSize` events: under a burst (a backfill, a bulk import,
 * Svix replaying a Clerk outage) a run applies 100 events with one read and one bulk write;
 * alone, an event waits at most `timeout` for company. 100 is the largest batch on Inngest's
 * free plan.
 */
export const userEventBatching = { maxSize: 100, timeout: "1s" } as const;

/** What a run reports per event, in the batch's order. */
export type UserEventResult = SyncOutcome | { kind: "rejected" };

/**
 * `sync-clerk-user-created`, `-updated` and `-deleted`: one function per Clerk user event, all
 * three from this one definition, each run a batch of events. Each event's payload is validated
 * on its own (a bad one is audited as `rejected` and fails the run without retries, after the
 * others are applied); the valid ones go through the sync rules (`applyEvents`: one event per
 * user, one read and one bulk write), then the app events the changes wrote into the outbox are
 * published. No per-user concurrency key: a key would see only a batch's first event, and
 * batches racing on one user are settled by the store's compare-and-set. The last attempt of a
 * run that keeps failing audits every event of its batch as `failed` (an `onFailure` handler
 * would see only the batch's first event); the next reconciliation repairs them.
 */
export function createSyncClerkUserFunctions(inngest: InngestClient, deps: SyncFunctionDeps) {
  return (Object.keys(syncClerkUserFunctions) as ClerkUserEventType[]).map((type) =>
    inngest.createFunction(
      {
        id: syncClerkUserFunctions[type].id,
        // The trigger by name only: the SDK would fail a whole batch for one invalid payload.
        triggers: [{ event: syncClerkUserFunctions[type].trigger.name }],
        batchEvents: userEventBatching,
      },
      async ({ events, step, logger, attempt, maxAttempts }) => {
        const parsed = (events as ClerkUserInngestEvent[]).map((event) => parseUserEvent(type, event));
        const changes = parsed.flatMap((item) => (item.ok ? [item.change] : []));
        const rejected = parsed.flatMap((item) => (item.ok ? [] : [item.unapplied]));

        if (rejected.length > 0) await step.run("record-rejected", () => recordUnapplied(deps, "rejected", rejected));
        const lastAttempt = attempt + 1 >= (maxAttempts ?? defaultMaxAttempts);
        const outcomes: SyncOutcome[] =
          changes.length === 0
            ? []
            : await step.run("apply-to-mongodb", async () => {
                try {
                  return await (await deps.users()).applyEvents(changes);
                } catch (error) {
                  // Inngest gives up after this attempt: every event of the batch is left for reconciliation, and says so.
                  if (lastAttempt) await recordUnapplied(deps, "failed", (events as ClerkUserInngestEvent[]).map((event) => unappliedEvent(event, errorMessage(error))));
                  throw error;
                }
              });
        // Every user of the batch, changed or not: a duplicate may be the retry of a run whose
        // publication failed, and its events are still in the outbox.
        const users = [...new Set(changes.map((change) => change.userId))];
        if (users.length > 0) {
          await step.run("publish-app-events", async () => {
            const outbox = await deps.outbox();
            const published = await outbox.publish(users);
            // A deletion ends the user's memberships (`app/membership.deleted`, reason `user-deleted`): announced now, not by the sweep.
            return type === "user.deleted" ? published + (await outbox.publish(users, { membershipsOf: "users" })) : published;
          });
        }

        logger.info({ events: events.length, changed: outcomes.filter((outcome) => outcome.kind !== "skipped").length, rejected: rejected.length }, "Clerk user events applied");
        if (rejected.length > 0) {
          throw new NonRetriableError(`invalid Clerk payload: ${rejected.map((item) => item.detail).join(" | ").slice(0, 1_000)}`);
        }
        return resultsInOrder(parsed, outcomes);
      },
    ),
  );
}

/** Inngest's default: 4 retries, 5 attempts. */
const defaultMaxAttempts = 5;

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

function resultsInOrder(parsed: readonly { ok: boolean }[], outcomes: readonly SyncOutcome[]): UserEventResult[] {
  let next = 0;
  return parsed.map((item) => (item.ok ? (outcomes[next++] as SyncOutcome) : { kind: "rejected" as const }));
}
