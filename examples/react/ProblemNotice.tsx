import { useAuth } from "@clerk/react";
import { useEffect, useState } from "react";
import type { ApiError } from "../../client/api-client";

/**
 * What a failed call means for the person using the app, by status (clients branch on the
 * problem's status and `type`, never on its text):
 * - 401: the session token was refused (expired, revoked, another app's): sign in again.
 * - 429: rate limited: wait the server's Retry-After, counting down, then retry.
 * - 502 / 503 / 504 and no response at all: a dependency is down: retry.
 * - 400 with `errors`: what to fix, one line each.
 */
export function ProblemNotice({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  const { problem } = error;
  if (problem.status === 401) return <SignInAgain />;
  // A new 429 restarts the countdown: one component instance per error.
  if (problem.status === 429) return <RateLimited key={idOf(error)} seconds={error.retryAfterSeconds} onRetry={onRetry} />;
  const retryable = problem.status === 0 || problem.status === 502 || problem.status === 503 || problem.status === 504;
  return (
    <div className="notice" role="alert" data-status={problem.status}>
      <p>
        <strong>{retryable && problem.status !== 0 ? "The service is temporarily unavailable." : problem.title}</strong>
        {retryable && problem.status !== 0 && <> {problem.title}.</>}
      </p>
      {problem.status === 0 && <p>Check your connection. If it persists, this site's origin may not be allowed by the API (CORS).</p>}
      {problem.errors && problem.errors.length > 0 && (
        <ul className="errors">
          {problem.errors.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
      {retryable && onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

const ids = new WeakMap<ApiError, number>();
let lastId = 0;
function idOf(error: ApiError): number {
  let id = ids.get(error);
  if (id === undefined) ids.set(error, (id = ++lastId));
  return id;
}

function SignInAgain() {
  const { signOut } = useAuth();
  return (
    <div className="notice" role="alert" data-status={401}>
      <p>
        <strong>Your session has expired or is no longer valid.</strong> Sign in again to continue.
      </p>
      <button type="button" onClick={() => void signOut()}>
        Sign in again
      </button>
    </div>
  );
}

/** Counts down the server's Retry-After; without one (not sent, or not exposed by CORS), just asks to wait. */
function RateLimited({ seconds, onRetry }: { seconds: number | null; onRetry?: () => void }) {
  const [until] = useState(() => Date.now() + (seconds ?? 0) * 1000);
  const [left, setLeft] = useState(seconds ?? 0);
  useEffect(() => {
    const timer = setInterval(() => {
      const next = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setLeft(next);
      if (next === 0) clearInterval(timer);
    }, 250);
    return () => clearInterval(timer);
  }, [until]);
  return (
    <div className="notice" role="alert" data-status={429}>
      <p>
        <strong>Too many requests.</strong>{" "}
        {seconds === null ? (
          "Wait a moment, then retry."
        ) : left > 0 ? (
          <>
            You can retry in <span data-testid="retry-after">{left}</span> s.
          </>
        ) : (
          "You can retry now."
        )}
      </p>
      {onRetry && (
        <button type="button" onClick={onRetry} disabled={left > 0}>
          Retry
        </button>
      )}
    </div>
  );
}
