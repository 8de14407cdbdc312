import { createClerkUserDirectory } from "../clerk/clerk-user-directory.js";
import type { Config } from "../config.js";
import { connectMongo } from "../db/connection.js";
import type { Logger } from "../logger.js";
import { userModelFor } from "../users/user-model.js";
import { createUserStore } from "../users/user-store.js";
import type { ReconcileDeps } from "./reconcile-chunks.js";
import { createRunReports, type RunReports } from "./run-reports.js";

/** What reconciliation, purge and replay use: the store, Clerk's user list, run reports. */
export interface MaintenanceServices extends ReconcileDeps {
  reports: RunReports;
}

export async function connectMaintenanceServices(config: Config, logger: Logger): Promise<MaintenanceServices> {
  const connection = await connectMongo(config.mongo);
  const users = userModelFor(connection);
  return {
    users,
    store: createUserStore(users),
    directory: createClerkUserDirectory({
      apiUrl: config.clerk.apiUrl,
      secretKey: config.clerk.secretKey,
      maxRequestsPer10Seconds: config.reconcile.maxClerkRequestsPer10Seconds,
    }),
    reports: createRunReports(connection),
    logger,
  };
}
