import type { Model } from "mongoose";
import type { MembershipModel } from "../organizations/membership-model.js";
import type { OrganizationModel } from "../organizations/organization-model.js";
import type { AppEvent } from "../sync/types.js";
import type { UserModel } from "../users/user-model.js";

/** The collections whose documents hold an `outbox` of app events: users, organizations, memberships. */
export type OutboxSource = "users" | "organizations" | "memberships";

/**
 * Which pending events to publish: documents of a collection by `_id` (users by default), or,
 * after a cascade, the memberships of deleted organizations or users (by their ids).
 */
export type OutboxSelection = OutboxSource | { membershipsOf: "organizations" | "users" };

export interface OutboxPublisher {
  /**
   * Sends the pending app events of these documents (users unless `from` says otherwise), then
   * removes exactly what was sent. Returns how many.
   */
  publish(ids: readonly string[], from?: OutboxSelection): Promise<number>;
  /** The safety net: pending events of any users, organizations and memberships (after a crash between a write and its publication). */
  publishPending(limit: number): Promise<number>;
}

/** What the publisher reads of any of the three: the `_id` and the outbox (the same `{ id, name, data }` entries in each). */
type OutboxModel = Model<{ _id: string; outbox?: AppEvent[] }>;

/** Documents read per page when publishing the events of a cascade (an organization's thousands of members). */
const cascadePageSize = 200;

/**
 * Publishes the app events the stores wrote into the outboxes of users, organizations and
 * memberships: one publisher for the three, each event sent before it is removed, so a crash
 * in between re-sends it: with their deterministic ids, Inngest (and JetStream downstream)
 * drop the repeat. Nothing is lost, nothing doubles. `$pullAll` with the exact events read
 * removes only those, never one appended meanwhile.
 */
export function createOutboxPublisher(
  users: UserModel,
  send: (events: AppEvent[]) => Promise<unknown>,
  others: { organizations?: OrganizationModel; memberships?: MembershipModel } = {},
): OutboxPublisher {
  // Only `_id` and `outbox` are read and written, which the three models share.
  const models = { users, ...others } as Partial<Record<OutboxSource, unknown>> as Partial<Record<OutboxSource, OutboxModel>>;
  const modelOf = (source: OutboxSource): OutboxModel => {
    const model = models[source];
    if (!model) throw new TypeError(`this outbox publisher was created without the ${source} model`);
    return model;
  };

  // An equality on a field is an index lookup on every MongoDB-wire server; `$in` scans on FerretDB.
  const oneOrMany = (ids: readonly string[]) => (ids.length === 1 ? ids[0] : { $in: [...ids] });

  /** One page: the first `limit` documents of `filter` with pending events. */
  async function drain(model: OutboxModel, filter: Record<string, unknown>, limit: number): Promise<{ documents: number; events: number }> {
    const docs = await model
      .find({ ...filter, "outbox.id": { $exists: true } }, { outbox: 1 })
      .limit(limit)
      .batchSize(limit)
      .lean<{ _id: string; outbox: AppEvent[] }[]>();
    const events = docs.flatMap((doc) => doc.outbox);
    if (events.length === 0) return { documents: docs.length, events: 0 };
    await send(events);
    // One command for the page: each document loses exactly the events read from it (each event is unique to its document).
    await model.collection.updateMany({ _id: oneOrMany(docs.map((doc) => doc._id)) } as never, { $pullAll: { outbox: events } } as never);
    return { documents: docs.length, events: events.length };
  }

  /** Every page of `filter` (a cascade's memberships may be many). */
  async function drainAll(model: OutboxModel, filter: Record<string, unknown>): Promise<number> {
    let total = 0;
    for (;;) {
      const page = await drain(model, filter, cascadePageSize);
      total += page.events;
      if (page.documents < cascadePageSize) return total;
    }
  }

  return {
    async publish(ids, from = "users") {
      if (ids.length === 0) return 0;
      if (typeof from === "object") {
        const field = from.membershipsOf === "organizations" ? "organizationId" : "userId";
        return drainAll(modelOf("memberships"), { [field]: oneOrMany(ids) });
      }
      return (await drain(modelOf(from), { _id: oneOrMany(ids) }, ids.length)).events;
    },
    async publishPending(limit) {
      let published = 0;
      for (const model of Object.values(models).filter((model): model is OutboxModel => model !== undefined)) published += (await drain(model, {}, limit)).events;
      return published;
    },
  };
}
