import type { Connection } from "mongoose";
import { type ActivityModel, activityModelFor } from "./activity/activity-model.js";
import { type ActivityStore, createActivityStore } from "./activity/activity-store.js";
import { type AuditLog, createAuditLog } from "./audit/audit-log.js";
import { type ClerkUserDirectory, createClerkUserDirectory } from "./clerk/clerk-user-directory.js";
import type { Config } from "./config.js";
import { connectMongo } from "./db/connection.js";
import { createOutboxPublisher, type OutboxPublisher } from "./events/outbox.js";
import type { Logger } from "./logger.js";
import type { SyncFigures, SyncHealth, SyncHealthThresholds } from "./ops/assess-sync-health.js";
import { createHeartbeats, type Heartbeats } from "./ops/heartbeats.js";
import { readSyncHealth } from "./ops/sync-figures.js";
import { type MembershipModel, membershipModelFor } from "./organizations/membership-model.js";
import { createMembershipStore, type MembershipStore } from "./organizations/membership-store.js";
import { type OrganizationModel, organizationModelFor } from "./organizations/organization-model.js";
import { createOrganizationStore, type OrganizationStore } from "./organizations/organization-store.js";
import { createRunReports, type RunReports } from "./reconcile/run-reports.js";
import type { AppEvent } from "./sync/types.js";
import { type UserModel, userModelFor } from "./users/user-model.js";
import { createUserStore, type UserStore } from "./users/user-store.js";

/** What the core needs from the configuration: the full `Config`, or the sync CLI's subset. */
export interface SyncCoreConfig {
  mongo: Config["mongo"];
  clerk: Pick<Config["clerk"], "apiUrl" | "secretKey">;
  reconcile: Pick<Config["reconcile"], "maxClerkRequestsPer10Seconds">;
}

/**
 * The sync core: every model and store that applies Clerk's truth to MongoDB, wired one
 * way for every entry point (the API, the Inngest functions, `npm run sync`, benches and
 * tests). The stores always write the audit trail: no entry point can apply a change
 * without leaving a record of it. A user's or organization's deletion ends their memberships
 * whichever path delivered it.
 */
export interface SyncCore {
  connection: Connection;
  users: UserModel;
  activity: ActivityModel;
  activityStore: ActivityStore;
  audit: AuditLog;
  store: UserStore;
  organizations: OrganizationModel;
  organizationStore: OrganizationStore;
  memberships: MembershipModel;
  membershipStore: MembershipStore;
  outbox: OutboxPublisher;
  reports: RunReports;
  /** Clerk's user list, paced for reconciliation. */
  directory: ClerkUserDirectory;
  heartbeats: Heartbeats;
  /** Is the sync keeping up? The figures and the verdict (lib/ops/assess-sync-health.ts). */
  syncHealth(thresholds: SyncHealthThresholds, now?: Date): Promise<SyncHealth & { figures: SyncFigures }>;
  logger: Logger;
}

export interface SyncCoreDeps {
  logger: Logger;
  /** An open connection to use instead of `config.mongo` (benchmarks that monitor its commands). */
  connection?: Connection;
  /** Hands app events to Inngest (the outbox publishes through it). */
  sendEvents: (events: AppEvent[]) => Promise<unknown>;
}

export async function createSyncCore(config: SyncCoreConfig, { logger, sendEvents, connection: given }: SyncCoreDeps): Promise<SyncCore> {
  const connection = given ?? (await connectMongo(config.mongo));
  const users = userModelFor(connection);
  const audit = createAuditLog(connection);
  const organizations = organizationModelFor(connection);
  const memberships = membershipModelFor(connection);
  const membershipStore = createMembershipStore(memberships, { organizations, users, audit });
  const heartbeats = createHeartbeats(connection);
  const reports = createRunReports(connection);
  return {
    connection,
    users,
    activity: activityModelFor(connection),
    activityStore: createActivityStore(connection),
    audit,
    store: createUserStore(users, { audit, onDeleted: (userId, deletedAt, origin) => membershipStore.endForUser(userId, deletedAt, origin) }),
    organizations,
    organizationStore: createOrganizationStore(organizations, { memberships: membershipStore, audit }),
    memberships,
    membershipStore,
    outbox: createOutboxPublisher(users, sendEvents, { organizations, memberships }),
    reports,
    heartbeats,
    syncHealth: (thresholds, now) => readSyncHealth(connection, thresholds, now),
    directory: createClerkUserDirectory({
      apiUrl: config.clerk.apiUrl,
      secretKey: config.clerk.secretKey,
      maxRequestsPer10Seconds: config.reconcile.maxClerkRequestsPer10Seconds,
    }),
    logger,
  };
}
