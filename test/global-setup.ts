import type { TestProject } from "vitest/node";
import { startLocalMongo } from "../scripts/local-mongo.js";
import { ensureTestServers } from "../scripts/test-servers.js";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
    /** Distinguishes this run's databases from another run's on the same server. */
    runId: string;
  }
}

/**
 * One MongoDB-wire server for the run; each worker gets its own database (see support/mongo.ts).
 * The Redis and NATS tests start their own servers; this makes sure the binaries are there.
 */
export default async function setup(project: TestProject) {
  await ensureTestServers(process.env, (message) => console.log(`[test setup] ${message}`));
  const mongo = await startLocalMongo({ env: process.env, log: (message) => console.log(`[test setup] ${message}`) });
  console.log(`[test setup] MongoDB-wire server from ${mongo.source}`);
  project.provide("mongoUri", mongo.uri);
  project.provide("runId", Math.random().toString(36).slice(2, 8));
  return () => mongo.stop();
}
