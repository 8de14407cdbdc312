import type { ClerkSession, ClerkSessionEventType } from "../clerk/session-payload.js";
import type { ActivityKind } from "./activity-kinds.js";
import type { ActivityDocument } from "./activity-model.js";

/** The activity record one Clerk session event produces (`createdAt` is set on insert). */
export type ActivityEntry = Omit<ActivityDocument, "createdAt">;

/** The user fields a session event may move forward (never back). */
export interface UserActivityTimes {
  userId: string;
  /** Only a sign-in (`session.created`) sets it. */
  lastSignInAt: Date | null;
  lastActiveAt: Date;
}

export interface SessionActivity {
  entry: ActivityEntry;
  user: UserActivityTimes;
}

const activityKindFor = {
  "session.created": "signed_in",
  "session.ended": "ended",
  "session.removed": "removed",
  "session.revoked": "revoked",
} as const satisfies Record<ClerkSessionEventType, ActivityKind>;

/** Deterministic: the same session event always gets the same id, so it is stored once. */
export const activityIdFor = (sessionId: string, kind: ActivityKind) => `${sessionId}:${kind}`;

/**
 * Pure: what one Clerk session event records. A sign-in is dated by the session's
 * `created_at`, an end by its `updated_at` (when Clerk changed its status). The user's
 * `lastActiveAt` candidate is Clerk's `last_active_at`, or `updated_at` when Clerk sent none.
 */
export function sessionActivityFor(type: ClerkSessionEventType, session: ClerkSession): SessionActivity {
  const kind = activityKindFor[type];
  const at = new Date(kind === "signed_in" ? session.created_at : session.updated_at);
  return {
    entry: {
      _id: activityIdFor(session.id, kind),
      userId: session.user_id,
      kind,
      sessionId: session.id,
      at,
      clientIp: session.http_request?.client_ip ?? null,
      userAgent: session.http_request?.user_agent ?? null,
    },
    user: {
      userId: session.user_id,
      lastSignInAt: kind === "signed_in" ? at : null,
      lastActiveAt: new Date(session.last_active_at ?? session.updated_at),
    },
  };
}
