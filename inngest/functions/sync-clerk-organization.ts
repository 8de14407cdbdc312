import { membershipKey } from "../../lib/organizations/membership-key.js";
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
 * deletion ends every membership of the organization. The app events the change wrote into the
 * outboxes (the organization's, and the ended memberships') are published in a step of their
 * own, after the write, as for users. The SDK validates each event's payload
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
      // Whatever the outcome: a duplicate may be the retry of a run whose publication failed.
      await step.run("publish-app-events", async () => {
        const { outbox } = await deps.maintenance();
        const organization = await outbox.publish([change.organizationId], "organizations");
        // A deletion's cascade announced every membership it ended.
        const memberships = change.kind === "delete" ? await outbox.publish([change.organizationId], { membershipsOf: "organizations" }) : 0;
        return organization + memberships;
      });
      logger.info({ eventId: event.id, organizationId: change.organizationId, outcome }, "Clerk organization event applied");
      return outcome;
    },
  );
}

/**
 * `sync-clerk-membership`: Clerk's `organizationMembership.created|updated|deleted`, one run at
 * a time per (organization, user). Ordered by the membership's generation, then `updated_at`
 * (lib/sync/decide-membership.ts); never revived in a deleted organization or for a deleted user.
 * Its app event is published from the membership's outbox in a step of its own.
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
      await step.run("publish-app-events", async () => (await deps.maintenance()).outbox.publish([membershipKey(snapshot.organizationId, snapshot.userId)], "memberships"));
      logger.info({ eventId: event.id, organizationId: snapshot.organizationId, userId: snapshot.userId, outcome }, "Clerk membership event applied");
      return outcome;
    },
  );
}
