import { createAppEventPublisher, type AppEventPublisher, type AppEventPublisherOptions } from "./app-event-publisher.js";

/**
 * One publisher (so one NATS connection) per process and configuration, shared by every
 * invocation a warm serverless instance serves and kept across hot reloads, as the
 * MongoDB connection is (lib/db/connection.ts).
 */
type PublisherCache = Map<string, AppEventPublisher>;
const cacheKey = Symbol.for("clerk-mongo-sync.nats-app-event-publishers");
const globalWithCache = globalThis as typeof globalThis & { [cacheKey]?: PublisherCache };
const publishers: PublisherCache = (globalWithCache[cacheKey] ??= new Map());

export function sharedAppEventPublisher(options: AppEventPublisherOptions): AppEventPublisher {
  const key = JSON.stringify([options.url, options.stream ?? {}, options.timeoutMs ?? null]);
  let publisher = publishers.get(key);
  if (!publisher) {
    publisher = createAppEventPublisher(options);
    publishers.set(key, publisher);
  }
  return publisher;
}

/** Closes every shared publisher (graceful shutdown, test teardown). */
export async function closeSharedAppEventPublishers(): Promise<void> {
  const open = [...publishers.values()];
  publishers.clear();
  await Promise.allSettled(open.map((publisher) => publisher.close()));
}
