/**
 * Runs `worker` over `items` in order, `parallelism` at a time, but one at a time per key: as
 * Inngest's concurrency key runs a function's events. Runs with different keys race.
 */
export async function runPool<T>(items: readonly T[], keyOf: (item: T) => string, worker: (item: T) => Promise<void>, parallelism = 8): Promise<void> {
  const tails = new Map<string, Promise<void>>();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        const key = keyOf(item);
        const run = (tails.get(key) ?? Promise.resolve()).then(() => worker(item));
        tails.set(key, run.catch(() => undefined));
        await run;
      }
    }),
  );
}
