import { purgeDeletedUsers } from "../../lib/users/purge-deleted-users.js";
import type { InngestClient } from "../client.js";
import type { FunctionDeps } from "./apply-clerk-user-event.js";

/**
 * Daily: erase the personal data of users deleted longer ago than the retention period (their
 * sign-in activity and the personal data of their ended memberships with them), and old audit records.
 */
export function createPurgeDeletedUsers(inngest: InngestClient, deps: FunctionDeps) {
  return inngest.createFunction(
    { id: "purge-deleted-users", triggers: [{ cron: deps.schedule.purgeCron }], concurrency: { limit: 1 } },
    async ({ step }) => {
      const purged = await step.run("purge", async () => {
        const { users, logger } = await deps.maintenance();
        const cutoff = new Date(Date.now() - deps.schedule.deletedUserRetentionMs);
        const count = await purgeDeletedUsers(users, cutoff);
        logger.info({ purged: count, cutoff }, "purged deleted users' personal data");
        return count;
      });
      const auditPurged = await step.run("purge-audit", async () => {
        const { audit } = await deps.maintenance();
        return audit.purgeOlderThan(new Date(Date.now() - deps.schedule.auditRetentionMs));
      });
      return { purged, auditPurged };
    },
  );
}
