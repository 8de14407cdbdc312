/**
 * A stand-in for Clerk's React SDK (`@clerk/react`) at its module boundary, for the browser
 * test: the test's Vite build aliases `@clerk/react` to this file. Clerk's hosted frontend
 * (clerk-js and the Frontend API) cannot be reached offline, so signing in and session tokens
 * come from the test, through functions it exposes on the page (see clerk-stand-in-protocol.ts):
 * the tokens are RS256, signed with the test's key whose public half is the API's
 * CLERK_JWT_KEY, with Clerk's claims (sub, sid, azp, iat, nbf, exp).
 *
 * It has what the example imports, with Clerk's semantics: ClerkProvider, Show
 * (`when="signed-in" | "signed-out"`), SignInButton / SignOutButton (wrapping their child
 * button, or rendering one), useAuth (getToken resolves a fresh token, or null when signed
 * out), useUser and useClerk. Anything else the app imports fails the build (missing export).
 * Written without JSX so the project's own tsconfig (no `jsx`) typechecks it.
 */
import {
  cloneElement,
  createContext,
  createElement,
  Fragment,
  isValidElement,
  type MouseEvent,
  type ReactNode,
  useCallback,
  useContext,
  useMemo,
  useState,
} from "react";
import { type StandInBindings, standInBindings, type StandInSession } from "./clerk-stand-in-protocol.js";

function binding<K extends keyof StandInBindings>(name: K): StandInBindings[K] {
  const exposed: unknown = (globalThis as Record<string, unknown>)[name];
  if (typeof exposed !== "function") throw new Error(`@clerk/react stand-in: the test exposed no ${name}() on this page`);
  return exposed as StandInBindings[K];
}

interface StandInState {
  session: StandInSession | null;
  signIn(): Promise<void>;
  signOut(): Promise<void>;
  getToken(): Promise<string | null>;
}

const StandInContext = createContext<StandInState | null>(null);

function useStandIn(): StandInState {
  const state = useContext(StandInContext);
  if (!state) throw new Error("@clerk/react stand-in: wrap the app in <ClerkProvider>");
  return state;
}

export function ClerkProvider({ publishableKey, children }: { publishableKey?: string; children?: ReactNode; [option: string]: unknown }) {
  if (!publishableKey?.startsWith("pk_")) throw new Error("@clerk/react stand-in: ClerkProvider needs a publishableKey (pk_test_…)");
  const [session, setSession] = useState<StandInSession | null>(null);
  const signIn = useCallback(async () => setSession(await binding(standInBindings.signIn)()), []);
  const signOut = useCallback(async () => {
    if (session) await binding(standInBindings.signOut)(session.sessionId);
    setSession(null);
  }, [session]);
  const getToken = useCallback(async () => (session ? binding(standInBindings.getToken)(session.sessionId) : null), [session]);
  const value = useMemo(() => ({ session, signIn, signOut, getToken }), [session, signIn, signOut, getToken]);
  return createElement(StandInContext.Provider, { value }, children);
}

export function Show({ when, fallback = null, children }: { when: "signed-in" | "signed-out"; fallback?: ReactNode; children?: ReactNode }) {
  const { session } = useStandIn();
  if (when !== "signed-in" && when !== "signed-out") throw new Error("@clerk/react stand-in: <Show> supports only signed-in / signed-out");
  const visible = when === "signed-in" ? session !== null : session === null;
  return createElement(Fragment, null, visible ? children : fallback);
}

/** Clerk's buttons call their child's onClick too, then act. */
function actionButton(children: ReactNode, label: string, action: () => Promise<void>) {
  if (isValidElement<{ onClick?: (event: MouseEvent) => void }>(children)) {
    const own = children.props.onClick;
    return cloneElement(children, {
      onClick: (event: MouseEvent) => {
        own?.(event);
        void action();
      },
    });
  }
  return createElement("button", { type: "button", onClick: () => void action() }, children ?? label);
}

export function SignInButton({ children }: { children?: ReactNode; [option: string]: unknown }) {
  return actionButton(children, "Sign in", useStandIn().signIn);
}

export function SignOutButton({ children }: { children?: ReactNode; [option: string]: unknown }) {
  return actionButton(children, "Sign out", useStandIn().signOut);
}

export function useAuth() {
  const { session, getToken, signOut } = useStandIn();
  return {
    isLoaded: true as const,
    isSignedIn: session !== null,
    userId: session?.userId ?? null,
    sessionId: session?.sessionId ?? null,
    orgId: null,
    getToken,
    signOut,
  };
}

export function useUser() {
  const { session } = useStandIn();
  const user = session && {
    id: session.userId,
    firstName: session.firstName,
    lastName: session.lastName,
    fullName: [session.firstName, session.lastName].filter(Boolean).join(" ") || null,
    primaryEmailAddress: session.email ? { emailAddress: session.email } : null,
  };
  return { isLoaded: true as const, isSignedIn: session !== null, user };
}

export function useClerk() {
  const { session, signIn, signOut } = useStandIn();
  return { loaded: true as const, session, openSignIn: signIn, signOut };
}
