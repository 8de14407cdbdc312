import { AsyncLocalStorage } from "node:async_hooks";
import { Inngest, type Logger } from "inngest";
import type { InngestConfig } from "../config.js";
import { DeadlineExceededError } from "../with-deadline.js";

/**
 * Per-attempt cap on a send to Inngest's Event API, so the SDK's own retries (5 attempts,
 * 100-800 ms apart) fit inside a webhook's 15 s. Sends only: registration (`PUT` sync), the
 * REST API calls the serve handler makes and anything else keep the SDK's own behaviour, so
 * a slow Inngest under load cannot make app registration fail.
 */
export const sendAttemptTimeoutMs = 2_000;

/** The SDK posts events to `<event base URL>/e/<event key>`; nothing else it fetches has that shape. */
export function isEventApiSend(input: string | URL | Request, init?: RequestInit): boolean {
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  if (method !== "POST") return false;
  const href = input instanceof Request ? input.url : String(input);
  try {
    return /\/e\/[^/]+$/.test(new URL(href).pathname);
  } catch {
    return false;
  }
}

/** Set by `sendOrFailFast` for the duration of one send: how to give up on it. */
interface FailFastScope {
  signal: AbortSignal;
  fail(error: Error): void;
}
const failFastScope = new AsyncLocalStorage<FailFastScope>();

async function fetchForInngest(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (!isEventApiSend(input, init)) return fetch(input, init);
  const scope = failFastScope.getStore();
  // After a fail-fast send gave up, the SDK's remaining retries never reach the network.
  if (scope?.signal.aborted) throw scope.signal.reason;
  const signals = [AbortSignal.timeout(sendAttemptTimeoutMs), init?.signal, scope?.signal].filter((signal): signal is AbortSignal => Boolean(signal));
  try {
    const response = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    if (!response.ok) scope?.fail(new Error(`Inngest's Event API answered ${response.status}`));
    return response;
  } catch (error) {
    scope?.fail(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

type InngestMiddleware = NonNullable<ConstructorParameters<typeof Inngest>[0]["middleware"]>;

/** `middleware`: what every function of this client runs behind (inngest/client.ts adds the Clerk instance guard). */
export function createInngestClient(config: InngestConfig, logger?: Logger, middleware?: InngestMiddleware) {
  return new Inngest({
    id: config.appId,
    eventKey: config.eventKey,
    signingKey: config.signingKey,
    signingKeyFallback: config.signingKeyFallback,
    isDev: config.isDev,
    baseUrl: config.baseUrl,
    logger,
    fetch: fetchForInngest,
    ...(middleware && { middleware }),
  });
}

export type InngestClient = ReturnType<typeof createInngestClient>;

/** The default budget of `sendOrFailFast` (an API request waiting on it). */
const defaultFailFastDeadlineMs = 400;

/**
 * Sends events for a caller who is waiting (an admin's API request), and gives up fast:
 * the first failed attempt (connection refused, a 5xx, a reset) rejects at once instead of
 * waiting out the SDK's retries (about 1.7 s), and a hanging Event API rejects after
 * `deadlineMs`. Once it has given up, the SDK's remaining retries for this send are refused
 * before they reach the network, so a request answered 503 is not delivered behind the
 * caller's back by a late retry. (An attempt already in flight is aborted; whether Inngest
 * saw it is unknowable, as for any timed-out request.) Webhooks keep the SDK's retries.
 */
export function sendOrFailFast(
  client: Pick<InngestClient, "send">,
  payload: Parameters<InngestClient["send"]>[0],
  { deadlineMs = defaultFailFastDeadlineMs }: { deadlineMs?: number } = {},
): Promise<Awaited<ReturnType<InngestClient["send"]>>> {
  const controller = new AbortController();
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      if (!controller.signal.aborted) controller.abort(error);
      reject(error);
    };
    const timer = setTimeout(() => fail(new DeadlineExceededError(`sending to Inngest took longer than ${deadlineMs} ms`)), deadlineMs);
    failFastScope
      .run({ signal: controller.signal, fail }, () => client.send(payload))
      .then((result) => {
        clearTimeout(timer);
        resolve(result);
      }, fail);
  });
}
