import type { Services } from "./services.js";

let pending: Promise<Services> | undefined;

/**
 * The process's services, built on the first request. The module that builds them (Clerk,
 * Mongoose, Inngest, Redis clients) is imported here, on demand, not when an `api/`
 * function is loaded: a cold start pays for it once, and only if a request needs it. A
 * failed start (database down) is retried on the next call.
 */
export function getServices(): Promise<Services> {
  pending ??= import("./services.js")
    .then((module) => module.createServicesFromEnvironment())
    .catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
  return pending;
}
