import { Inngest, type Logger } from "inngest";
import type { InngestConfig } from "../config.js";

/** Per-request cap on calls to Inngest, so the SDK's own retries fit inside a webhook's 15 s. */
const requestTimeoutMs = 2_000;

export function createInngestClient(config: InngestConfig, logger?: Logger) {
  return new Inngest({
    id: config.appId,
    eventKey: config.eventKey,
    signingKey: config.signingKey,
    signingKeyFallback: config.signingKeyFallback,
    isDev: config.isDev,
    baseUrl: config.baseUrl,
    logger,
    fetch: (input, init) => fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(requestTimeoutMs) }),
  });
}

export type InngestClient = ReturnType<typeof createInngestClient>;
