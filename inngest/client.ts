import type { InngestConfig } from "../lib/config.js";
import { createInngestClient as createEventClient, type InngestClient } from "../lib/events/inngest-client.js";
import { createLogger, type Logger } from "../lib/logger.js";
import { type ClerkInstanceGuardOptions, clerkInstanceGuard } from "./middleware/clerk-instance-guard.js";

export type { InngestClient };

export interface InngestClientOptions {
  /**
   * CLERK_INSTANCE_ID and the audit trail: the functions refuse `clerk/*` events from another
   * Clerk instance (inngest/middleware/clerk-instance-guard.ts). Unset: every instance is accepted.
   */
  clerkInstance?: { expectedInstanceId: string | undefined; audit: ClerkInstanceGuardOptions["audit"] };
}

/**
 * The Inngest client. It is built in lib/ (from the validated config) because the API sends
 * events too (admin triggers); the functions are registered on the one made here, with the
 * middleware every function runs behind.
 */
export function createInngestClient(config: InngestConfig, logger?: Logger, options: InngestClientOptions = {}): InngestClient {
  const expectedInstanceId = options.clerkInstance?.expectedInstanceId;
  const guard =
    options.clerkInstance && expectedInstanceId
      ? [clerkInstanceGuard({ expectedInstanceId, audit: options.clerkInstance.audit, logger: logger ?? createLogger("info") })]
      : undefined;
  return createEventClient(config, logger, guard);
}
