import type { TestProject } from "vitest/node";
import { startLocalMongo } from "../../scripts/local-mongo.js";

/**
 * The browser test's MongoDB-wire server, chosen as `npm test` chooses it (MONGODB_URI, else a
 * local server); the test makes its own database on it. (test/global-setup.ts also checks for
 * the Redis and NATS binaries, which this test does not use.)
 */
export default async function setup(project: TestProject) {
  const mongo = await startLocalMongo({ env: process.env, log: (message) => console.log(`[browser setup] ${message}`) });
  console.log(`[browser setup] MongoDB-wire server from ${mongo.source}`);
  project.provide("mongoUri", mongo.uri);
  project.provide("runId", Math.random().toString(36).slice(2, 8));
  return () => mongo.stop();
}
