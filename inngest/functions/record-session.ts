import { NonRetriableError } from "inngest";
import type { ActivityStore } from "../../lib/activity/activity-store.js";
import { sessionActivityFor } from "../../lib/activity/session-activity.js";
import { type ClerkSession, type ClerkSessionEventType, clerkSessionSchema } from "../../lib/clerk/session-payload.js";
import { formatIssues } from "../../lib/validation/format-issues.js";
import type { InngestClient } from "../client.js";
import {
  appUserSignedIn,
  appUserSignedOut,
  clerkSessionCreated,
  clerkSessionEnded,
  clerkSessionRemoved,
  clerkSessionRevoked,
} from "../events.js";

export interface SessionActivityFunctionDeps {
  /** Resolved lazily so that serving the functions never waits on the database. */
  activity: () => Promise<ActivityStore>;
}

/**
 * Serialised per Clerk user with the user functions (same key, scope `env`), so a user's
 * session and profile events never write to the same document at once. Correctness does
 * not rest on it: every write here is idempotent and monotonic.
 */
export const perSessionUserConcurrency = {
  limit: 1,
  key: `"clerk-user:" + event.data.user_id`,
  scope: "env",
} as const;

/**
 * Each Clerk session event's function: its deployed id (Inngest files a function's runs and
 * history under it: never rename one; test/inngest/functions/registry.test.ts) and trigger.
 */
const recordSessionFunctions = {
  "session.created": { id: "record-session-created", trigger: clerkSessionCreated },
  "session.ended": { id: "record-session-ended", trigger: clerkSessionEnded },
  "session.removed": { id: "record-session-removed", trigger: clerkSessionRemoved },
  "session.revoked": { id: "record-session-revoked", trigger: clerkSessionRevoked },
} as const satisfies Record<ClerkSessionEventType, { id: `record-session-${string}`; trigger: { name: `clerk/${ClerkSessionEventType}` } }>;

/** A payload that fails validation will fail every retry too: stop at once. */
export function toSession(data: unknown): ClerkSession {
  const parsed = clerkSessionSchema.safeParse(data);
  if (!parsed.success) {
    throw new NonRetriableError(`invalid Clerk session payload: ${formatIssues(parsed.error.issues).join("; ")}`);
  }
  return parsed.data;
}

/**
 * `record-session-created`, `-ended`, `-removed` and `-revoked`: one function per Clerk
 * session event, all four from this one definition. Each records the event once in
 * `session_activity`, moves the user's `lastSignInAt` / `lastActiveAt` forward (never back,
 * never creating a user), then announces `app/user.signed_in` or `app/user.signed_out` with
 * an id derived from the session, so a retry, a redelivery or a second end of the same
 * session sends nothing new.
 */
export function createRecordSessionFunctions(inngest: InngestClient, deps: SessionActivityFunctionDeps) {
  return (Object.keys(recordSessionFunctions) as ClerkSessionEventType[]).map((type) =>
    inngest.createFunction(
      { id: recordSessionFunctions[type].id, triggers: [recordSessionFunctions[type].trigger], concurrency: perSessionUserConcurrency },
      async ({ event, step, logger }) => {
        const { entry, user } = sessionActivityFor(type, toSession(event.data));
        const outcome = await step.run("record-activity", async () => {
          const store = await deps.activity();
          return { activity: await store.record(entry), user: await store.advanceUser(user) };
        });

        const base = { v: 1, userId: entry.userId, sessionId: entry.sessionId, occurredAt: entry.at.toISOString() } as const;
        const appEvent =
          entry.kind === "signed_in"
            ? appUserSignedIn.create(
                { ...base, clientIp: entry.clientIp, userAgent: entry.userAgent },
                { id: `app/user.signed_in:${entry.sessionId}` },
              )
            : appUserSignedOut.create({ ...base, reason: entry.kind }, { id: `app/user.signed_out:${entry.sessionId}` });
        await step.sendEvent("send-app-event", appEvent);

        logger.info({ eventId: event.id, userId: entry.userId, sessionId: entry.sessionId, kind: entry.kind, ...outcome }, "Clerk session event recorded");
        return { ...outcome, appEventId: appEvent.id };
      },
    ),
  );
}
