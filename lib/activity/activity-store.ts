import type { Connection } from "mongoose";
import { isDuplicateKeyError } from "../db/errors.js";
import { userModelFor } from "../users/user-model.js";
import { activityModelFor } from "./activity-model.js";
import type { ActivityEntry, UserActivityTimes } from "./session-activity.js";

export type RecordOutcome = "recorded" | "duplicate";
export type AdvanceOutcome = "advanced" | "unchanged" | "no-live-user";

/** The writes of sign-in activity. Each is idempotent: a retried step or a redelivery changes nothing. */
export interface ActivityStore {
  /** Inserts one activity record; `duplicate` when that event was already recorded. */
  record(entry: ActivityEntry): Promise<RecordOutcome>;
  /**
   * Moves the user's `lastSignInAt` / `lastActiveAt` forward, never back, in one
   * conditional update (`$max` per field). Only a live user is written: never created,
   * never a tombstone revived.
   */
  advanceUser(times: UserActivityTimes): Promise<AdvanceOutcome>;
  /** Retention: deletes the records dated before `cutoff`, in one `deleteMany`. */
  purgeOlderThan(cutoff: Date): Promise<number>;
}

export function createActivityStore(connection: Connection): ActivityStore {
  const activity = activityModelFor(connection);
  const users = userModelFor(connection);
  return {
    async record(entry) {
      try {
        await activity.create(entry);
        return "recorded";
      } catch (error) {
        if (isDuplicateKeyError(error)) return "duplicate";
        throw error;
      }
    },
    async advanceUser({ userId, lastSignInAt, lastActiveAt }) {
      // `$max` compares with the stored value server-side (a missing or null field counts as
      // lower), so concurrent or reordered events cannot move a field back. FerretDB 1.24
      // supports it too. `timestamps: false`: activity is not a change to the user's data.
      const result = await users.updateOne(
        { _id: userId, deletedAt: null },
        { $max: { lastActiveAt, ...(lastSignInAt && { lastSignInAt }) } },
        { timestamps: false },
      );
      if (result.matchedCount === 0) return "no-live-user";
      return result.modifiedCount > 0 ? "advanced" : "unchanged";
    },
    async purgeOlderThan(cutoff) {
      const result = await activity.deleteMany({ at: { $lt: cutoff } });
      return result.deletedCount;
    },
  };
}
