import type { Connection } from "mongoose";

/** `sync_heartbeats`: one document per signal, `{ _id: name, at }`, only ever moved forward. */
export type HeartbeatName =
  /** The webhook endpoint handed a verified delivery to Inngest. */
  | "webhook-verified"
  /** A status probe reached Inngest's Event API (lib/ops/inngest-reachability.ts). */
  | "inngest-reachable";

export interface Heartbeats {
  /** Records `at` for `name`, at most once per `minIntervalMs` in this process (a busy endpoint writes rarely). */
  beat(name: HeartbeatName, at: Date): Promise<void>;
  read(name: HeartbeatName): Promise<Date | null>;
}

export function createHeartbeats(connection: Connection, { minIntervalMs = 30_000 }: { minIntervalMs?: number } = {}): Heartbeats {
  const collection = connection.collection<{ _id: string; at: Date }>("sync_heartbeats");
  const lastWritten = new Map<HeartbeatName, number>();
  return {
    async beat(name, at) {
      const previous = lastWritten.get(name);
      if (previous !== undefined && at.getTime() - previous < minIntervalMs) return;
      lastWritten.set(name, at.getTime());
      await collection.updateOne({ _id: name }, { $max: { at } }, { upsert: true });
    },
    async read(name) {
      return (await collection.findOne({ _id: name }))?.at ?? null;
    },
  };
}
