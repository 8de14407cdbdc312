import type { RequestGate } from "./http/request-gate.js";
import type { RouteDependencies } from "./http/route.js";
import type { Services } from "./services.js";

/**
 * The process's request gate and services, each built on first use. The modules that build
 * them are imported here, on demand, not when an `api/` function is loaded: a cold start
 * pays for Clerk's SDK only when a request needs a token checked, and for Mongoose, Inngest
 * and Redis only once a caller is authenticated. A failed start (bad configuration,
 * database down) is retried on the next call.
 */

let gate: Promise<RequestGate> | undefined;
let services: Promise<Services> | undefined;

function retryOnFailure<T>(pending: Promise<T>, reset: () => void): Promise<T> {
  return pending.catch((error: unknown) => {
    reset();
    throw error;
  });
}

function getRequestGate(): Promise<RequestGate> {
  gate ??= retryOnFailure(
    Promise.all([import("./config.js"), import("./logger.js"), import("./http/request-gate.js")]).then(
      ([{ getConfig }, { createLogger }, { createRequestGate }]) => {
        const config = getConfig();
        return createRequestGate(config, createLogger(config.logLevel));
      },
    ),
    () => (gate = undefined),
  );
  return gate;
}

function getServices(): Promise<Services> {
  services ??= retryOnFailure(
    Promise.all([getRequestGate(), import("./services.js")]).then(([{ config, logger }, { createServices }]) => createServices(config, logger)),
    () => (services = undefined),
  );
  return services;
}

/** What `serveRoute` needs, for every `api/` route. */
export const apiDependencies: RouteDependencies = { gate: getRequestGate, services: getServices };
