/**
 * How the Clerk stand-in (clerk-stand-in.ts, running in the page) talks to the test (in Node):
 * functions the test exposes on every page with Playwright's `exposeBinding`. Shared by both
 * sides; no React, no DOM.
 */
export const standInBindings = {
  /** Signs in: the test decides who (Clerk's hosted sign-in cannot run offline). */
  signIn: "clerkStandInSignIn",
  /** A session token for the session, like `session.getToken()`: RS256, Clerk's claims, `azp` = the page's origin. */
  getToken: "clerkStandInGetToken",
  signOut: "clerkStandInSignOut",
} as const;

export interface StandInSession {
  userId: string;
  sessionId: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
}

export interface StandInBindings {
  [standInBindings.signIn](): Promise<StandInSession>;
  [standInBindings.getToken](sessionId: string): Promise<string | null>;
  [standInBindings.signOut](sessionId: string): Promise<void>;
}
