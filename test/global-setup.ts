import type { TestProject } from "vitest/node";
import { startLocalMongo } from "../scripts/local-mongo.js";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

/** One MongoDB-wire server for the run; each worker gets its own database (see support/mongo.ts). */
export default async function setup(project: TestProject) {
  const mongo = await startLocalMongo({ env: process.env, log: (message) => console.log(`[test setup] ${message}`) });
  console.log(`[test setup] MongoDB-wire server from ${mongo.source}`);
  project.provide("mongoUri", mongo.uri);
  return () => mongo.stop();
}
