import type { TestProject } from "vitest/node";
import { startLocalMongo } from "../scripts/local-mongo.js";
import { ensureRedisServer } from "../scripts/local-redis.js";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
    /** Distinguishes this run's databases from another run's on the same server. */
    runId: string;
  }
}

/**
 * One MongoDB-wire server for the run; each worker gets its own database (see support/mongo.ts).
 * The Redis tests start their own redis-server; this makes sure the binary is there.
 */
export default async function setup(project: TestProject) {
  await ensureRedisServer(process.env, (message) => console.log(`[test setup] ${message}`));
  const mongo = await startLocalMongo({ env: process.env, log: (message) => console.log(`[test setup] ${message}`) });
  console.log(`[test setup] MongoDB-wire server from ${mongo.source}`);
  project.provide("mongoUri", mongo.uri);
  project.provide("runId", Math.random().toString(36).slice(2, 8));
  return () => mongo.stop();
}
