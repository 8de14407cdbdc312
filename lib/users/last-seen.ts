import type { UserModel } from "./user-model.js";

export interface LastSeenRecorder {
  /** Records activity at most once per interval per user; `null` when nothing needs writing. */
  record(userId: string, storedLastSeenAt: Date | null | undefined): Promise<void> | null;
}

const maxRemembered = 10_000;

/**
 * `lastSeenAt` is useful to within minutes, so a busy user costs one write per
 * interval, not one per request: skipped when the stored value is recent, remembered
 * per instance, and the write itself is conditional so instances do not repeat it.
 */
export function createLastSeenRecorder(users: UserModel, intervalMs: number, now: () => number = Date.now): LastSeenRecorder {
  const recentlyWritten = new Map<string, number>();

  return {
    record(userId, storedLastSeenAt) {
      const at = now();
      if (storedLastSeenAt && at - storedLastSeenAt.getTime() < intervalMs) return null;
      const written = recentlyWritten.get(userId);
      if (written !== undefined && at - written < intervalMs) return null;

      if (recentlyWritten.size >= maxRemembered) recentlyWritten.clear();
      recentlyWritten.set(userId, at);
      const staleBefore = new Date(at - intervalMs);
      return users
        .updateOne(
          { _id: userId, deletedAt: null, $or: [{ lastSeenAt: null }, { lastSeenAt: { $lt: staleBefore } }] },
          { $set: { lastSeenAt: new Date(at) } },
          { timestamps: false },
        )
        .then(() => undefined);
    },
  };
}
