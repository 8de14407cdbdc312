import { NonRetriableError } from "inngest";
import { clerkUserSchema } from "../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../lib/sync/to-user-snapshot.js";
import type { InngestClient } from "../client.js";
import { userResyncRequested } from "../events.js";
import { type FunctionDeps, perUserConcurrency } from "./apply-clerk-user-event.js";

/** Support: fetch one user from Clerk and apply it through the sync rules (404 tombstones). */
export function createResyncUser(inngest: InngestClient, deps: FunctionDeps) {
  return inngest.createFunction(
    {
      id: "resync-user",
      triggers: [userResyncRequested],
      concurrency: { ...perUserConcurrency, key: `"clerk-user:" + event.data.userId` },
    },
    async ({ event, step }) => {
      const { userId } = event.data;
      const origin = { source: "replay", sourceEventId: event.id ?? null } as const;
      const outcome = await step.run("fetch-and-apply", async () => {
        const { directory, store, logger } = await deps.maintenance();
        const user = await directory.getUser(userId);
        if (!user) return store.apply({ kind: "delete", userId, deletedAt: new Date(), origin });
        const parsed = clerkUserSchema.safeParse(user);
        if (!parsed.success) throw new NonRetriableError(`Clerk returned an unusable user ${userId}`);
        const applied = await store.apply({ kind: "upsert", userId, snapshot: toUserSnapshot(parsed.data), origin });
        logger.info({ userId, source: "replay", outcome: applied }, "user re-synced from Clerk");
        return applied;
      });
      await step.run("publish-app-events", async () => (await deps.outbox()).publish([userId]));
      return outcome;
    },
  );
}
