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
    async ({ event, step }) =>
      step.run("fetch-and-apply", async () => {
        const { directory, store, logger } = await deps.maintenance();
        const { userId } = event.data;
        const user = await directory.getUser(userId);
        if (!user) return store.apply({ kind: "delete", userId, deletedAt: new Date() });
        const parsed = clerkUserSchema.safeParse(user);
        if (!parsed.success) throw new NonRetriableError(`Clerk returned an unusable user ${userId}`);
        const outcome = await store.apply({ kind: "upsert", userId, snapshot: toUserSnapshot(parsed.data) });
        logger.info({ userId, source: "replay", outcome }, "user re-synced from Clerk");
        return outcome;
      }),
  );
}
