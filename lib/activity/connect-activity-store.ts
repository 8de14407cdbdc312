import type { MongoConfig } from "../config.js";
import { connectMongo } from "../db/connection.js";
import { type ActivityStore, createActivityStore } from "./activity-store.js";

/** The activity store on the process's shared connection (connected on first use). */
export async function connectActivityStore(config: MongoConfig): Promise<ActivityStore> {
  return createActivityStore(await connectMongo(config));
}
