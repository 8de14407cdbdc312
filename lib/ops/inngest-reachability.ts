/**
 * Can this deployment hand events to Inngest right now? A bounded-time `GET <Event API>/health`
 * (the Event API's health route, on Inngest cloud, the dev server and self-hosted Inngest). Any
 * HTTP answer below 500 counts as reachable: the host is up and answering, whatever its routes;
 * no answer within the time limit, a network error or a 5xx is unreachable. It sends no event
 * (nothing to clean up in Inngest, nothing billed) and no key, so it cannot tell a revoked
 * INNGEST_EVENT_KEY: the webhook endpoint's 503s and the webhook heartbeat show that one.
 */

export type InngestReachability =
  | { kind: "reachable"; checkedAt: Date; httpStatus: number; latencyMs: number }
  | { kind: "unreachable"; checkedAt: Date; reason: string };

interface InngestProbeOptions {
  /** The Event API's base URL (INNGEST_BASE_URL, the dev server, or Inngest cloud's). */
  eventApiUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

export async function probeInngest({ eventApiUrl, timeoutMs, fetch: fetchImpl = fetch, now = () => new Date() }: InngestProbeOptions): Promise<InngestReachability> {
  const started = performance.now();
  const checkedAt = now();
  try {
    const response = await fetchImpl(new URL("health", withTrailingSlash(eventApiUrl)), {
      method: "GET",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is not needed; release the connection.
    await response.body?.cancel().catch(() => {});
    if (response.status >= 500) return { kind: "unreachable", checkedAt, reason: `answered ${response.status}` };
    return { kind: "reachable", checkedAt, httpStatus: response.status, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { kind: "unreachable", checkedAt, reason: describeFailure(error, timeoutMs) };
  }
}

/**
 * The probe, run at most once per `ttlMs` and once at a time (concurrent callers share one
 * request): for /api/health, which an uptime monitor may call every few seconds.
 */
export function cachedInngestProbe(probe: () => Promise<InngestReachability>, ttlMs: number, now: () => number = Date.now): () => Promise<InngestReachability> {
  let cached: { at: number; result: Promise<InngestReachability> } | undefined;
  return () => {
    if (!cached || now() - cached.at >= ttlMs) cached = { at: now(), result: probe() };
    return cached.result;
  };
}

function withTrailingSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/** A reason an operator can act on, never the URL's credentials or a stack. */
function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")) return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === "string") return cause.code;
  return error instanceof Error ? error.name : "request failed";
}
