import type { AppEvent } from "../sync/types.js";
import type { UserModel } from "../users/user-model.js";

export interface OutboxPublisher {
  /** Sends these users' pending app events, then removes exactly what was sent. Returns how many. */
  publish(userIds: readonly string[]): Promise<number>;
  /** The safety net: pending events of any users (after a crash between a write and its publication). */
  publishPending(limit: number): Promise<number>;
}

/**
 * Publishes the app events the store wrote into users' outboxes. Events are sent before
 * they are removed, so a crash in between re-sends them: with their deterministic ids,
 * Inngest (and JetStream downstream) drop the repeat. Nothing is lost, nothing doubles.
 * `$pullAll` with the exact events read removes only those, never one appended meanwhile.
 */
export function createOutboxPublisher(users: UserModel, send: (events: AppEvent[]) => Promise<unknown>): OutboxPublisher {
  async function drain(filter: Record<string, unknown>, limit: number): Promise<number> {
    const docs = await users
      .find({ ...filter, "outbox.id": { $exists: true } }, { outbox: 1 })
      .limit(limit)
      .batchSize(limit)
      .lean<{ _id: string; outbox: AppEvent[] }[]>();
    const events = docs.flatMap((doc) => doc.outbox);
    if (events.length === 0) return 0;
    await send(events);
    await users.collection.bulkWrite(
      docs.map((doc) => ({ updateOne: { filter: { _id: doc._id } as never, update: { $pullAll: { outbox: doc.outbox } } as never } })),
      { ordered: false },
    );
    return events.length;
  }

  return {
    publish(userIds) {
      if (userIds.length === 0) return Promise.resolve(0);
      // An equality on `_id` is an index lookup on every MongoDB-wire server; `$in` scans on FerretDB.
      return drain({ _id: userIds.length === 1 ? userIds[0] : { $in: [...userIds] } }, userIds.length);
    },
    publishPending: (limit) => drain({}, limit),
  };
}
