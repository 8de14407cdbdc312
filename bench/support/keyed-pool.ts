/**
 * Runs `work` over `items`, `limit` at a time, at most one at a time per key: how Inngest runs
 * a function with `concurrency: { limit, key }` (runs without a key get a key of their own).
 */
export async function keyedPool<T>(items: readonly T[], limit: number, keyOf: (item: T) => string, work: (item: T) => Promise<void>): Promise<void> {
  const tails = new Map<string, Promise<void>>();
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        const key = keyOf(item);
        const run = (tails.get(key) ?? Promise.resolve()).then(() => work(item));
        tails.set(key, run.catch(() => undefined));
        await run;
      }
    }),
  );
}
