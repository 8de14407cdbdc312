import { type AuditLog, createAuditLog } from "../audit/audit-log.js";
import { createClerkUserDirectory } from "../clerk/clerk-user-directory.js";
import type { Config } from "../config.js";
import { connectMongo } from "../db/connection.js";
import { createOutboxPublisher, type OutboxPublisher } from "../events/outbox.js";
import type { Logger } from "../logger.js";
import type { AppEvent } from "../sync/types.js";
import { userModelFor } from "../users/user-model.js";
import { createUserStore } from "../users/user-store.js";
import type { ReconcileDeps } from "./reconcile-chunks.js";
import { createRunReports, type RunReports } from "./run-reports.js";

/** What the Inngest functions use: the audited store, the outbox, Clerk's user list, run reports. */
export interface MaintenanceServices extends ReconcileDeps {
  reports: RunReports;
  audit: AuditLog;
  outbox: OutboxPublisher;
}

export async function connectMaintenanceServices(
  config: Config,
  logger: Logger,
  sendEvents: (events: AppEvent[]) => Promise<unknown>,
): Promise<MaintenanceServices> {
  const connection = await connectMongo(config.mongo);
  const users = userModelFor(connection);
  const audit = createAuditLog(connection);
  return {
    users,
    store: createUserStore(users, { audit }),
    outbox: createOutboxPublisher(users, sendEvents),
    audit,
    directory: createClerkUserDirectory({
      apiUrl: config.clerk.apiUrl,
      secretKey: config.clerk.secretKey,
      maxRequestsPer10Seconds: config.reconcile.maxClerkRequestsPer10Seconds,
    }),
    reports: createRunReports(connection),
    logger,
  };
}
