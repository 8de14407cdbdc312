import type { MongoConfig } from "../config.js";
import { connectMongo } from "../db/connection.js";
import { userModelFor } from "./user-model.js";
import { createUserStore, type UserStore } from "./user-store.js";

/** The user store on the process's shared connection (connected on first use). */
export async function connectUserStore(config: MongoConfig): Promise<UserStore> {
  return createUserStore(userModelFor(await connectMongo(config)));
}
