import type { InngestClient } from "../client.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../../lib/sync/to-organization-snapshot.js";
import {
  clerkMembershipCreated,
  clerkMembershipDeleted,
  clerkMembershipUpdated,
  clerkOrganizationCreated,
  clerkOrganizationDeleted,
  clerkOrganizationUpdated,
} from "../events.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";
import { webhookOrigin } from "./apply-clerk-user-event.js";

/**
 * `sync-clerk-organization`: Clerk's `organization.created|updated|deleted`, one run at a time
 * per organization. The same rules as users (ordered by `updated_at`, deletion final); a
 * deletion ends every membership of the organization. The SDK validates each event's payload
 * against its schema before the run (a bad one fails without retries).
 */
export function createSyncClerkOrganization(inngest: InngestClient, deps: Pick<FunctionDeps, "maintenance">) {
  return inngest.createFunction(
    {
      id: "sync-clerk-organization",
      triggers: [clerkOrganizationCreated, clerkOrganizationUpdated, clerkOrganizationDeleted],
      concurrency: { limit: 1, key: `"clerk-organization:" + event.data.id`, scope: "env" },
    },
    async ({ event, step, logger }) => {
      const origin = webhookOrigin(event);
      const change =
        event.name === clerkOrganizationDeleted.name
          ? { kind: "delete" as const, organizationId: event.data.id, deletedAt: new Date(event.ts ?? Date.now()), origin }
          : { kind: "upsert" as const, organizationId: event.data.id, snapshot: toOrganizationSnapshot(clerkOrganizationCreated.schema.parse(event.data)), origin };
      const outcome = await step.run("apply-to-mongodb", async () => (await deps.maintenance()).organizationStore.apply(change));
      logger.info({ eventId: event.id, organizationId: change.organizationId, outcome }, "Clerk organization event applied");
      return outcome;
    },
  );
}

/**
 * `sync-clerk-membership`: Clerk's `organizationMembership.created|updated|deleted`, one run at
 * a time per (organization, user). Ordered by the membership's generation, then `updated_at`
 * (lib/sync/decide-membership.ts); never revived in a deleted organization or for a deleted user.
 */
export function createSyncClerkMembership(inngest: InngestClient, deps: Pick<FunctionDeps, "maintenance">) {
  return inngest.createFunction(
    {
      id: "sync-clerk-membership",
      triggers: [clerkMembershipCreated, clerkMembershipUpdated, clerkMembershipDeleted],
      concurrency: { limit: 1, key: `"clerk-membership:" + event.data.organization.id + ":" + event.data.public_user_data.user_id`, scope: "env" },
    },
    async ({ event, step, logger }) => {
      const snapshot = toMembershipSnapshot(clerkMembershipCreated.schema.parse(event.data));
      const removal = event.name === clerkMembershipDeleted.name;
      const change = { kind: removal ? ("delete" as const) : ("upsert" as const), snapshot, at: removal ? snapshot.clerkUpdatedAt : new Date(event.ts ?? Date.now()), origin: webhookOrigin(event) };
      const outcome = await step.run("apply-to-mongodb", async () => (await deps.maintenance()).membershipStore.apply(change));
      logger.info({ eventId: event.id, organizationId: snapshot.organizationId, userId: snapshot.userId, outcome }, "Clerk membership event applied");
      return outcome;
    },
  );
}
