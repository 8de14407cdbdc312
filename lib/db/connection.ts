import { attachDatabasePool } from "@vercel/functions";
import mongoose, { type Connection } from "mongoose";
import type { MongoConfig } from "../config.js";

/**
 * One MongoDB connection per process, shared by every invocation a warm serverless
 * instance serves and kept across hot reloads (module state is reset on reload,
 * `globalThis` is not). The pool is bounded, server selection fails fast, and
 * commands are never buffered while disconnected: a request errors quickly
 * instead of hanging until the platform kills it. On Vercel the driver's pool is
 * attached with `attachDatabasePool`, so connections idle for `maxIdleTimeMs` are
 * closed before a suspended instance would leave them open on Atlas.
 */

type ConnectionCache = Map<string, Promise<Connection>>;
const cacheKey = Symbol.for("clerk-mongo-sync.mongo-connections");
const globalWithCache = globalThis as typeof globalThis & { [cacheKey]?: ConnectionCache };
const connections: ConnectionCache = (globalWithCache[cacheKey] ??= new Map());

export function connectMongo(config: MongoConfig): Promise<Connection> {
  const key = `${config.uri}|${config.dbName ?? ""}`;
  const existing = connections.get(key);
  if (existing) return existing;

  const pending = mongoose
    .createConnection(config.uri, {
      dbName: config.dbName,
      maxPoolSize: config.maxPoolSize,
      minPoolSize: 0,
      maxIdleTimeMS: config.maxIdleTimeMs,
      serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
      socketTimeoutMS: 20_000,
      bufferCommands: false,
      autoIndex: false,
      autoCreate: false,
    })
    .asPromise()
    .then((connection) => {
      attachDatabasePool(connection.getClient());
      return connection;
    });
  connections.set(key, pending);
  // A failed connect must not poison the cache: the next invocation tries again.
  pending.catch(() => connections.delete(key));
  return pending;
}

/** Closes every cached connection (graceful shutdown, test teardown). */
export async function closeMongoConnections(): Promise<void> {
  const pending = [...connections.values()];
  connections.clear();
  await Promise.allSettled(pending.map(async (connection) => (await connection).close()));
}
