/** What happened to a session: Clerk's `session.created` is a sign-in, the others end it. */
export const activityKinds = ["signed_in", "ended", "removed", "revoked"] as const;
export type ActivityKind = (typeof activityKinds)[number];
