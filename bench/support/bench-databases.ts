import { log, openBenchDatabase, type BenchDatabase } from "./reconcile-harness.js";

/**
 * The databases a bench opens, dropped and closed once at its end or on Ctrl-C/SIGTERM, so an
 * interrupted run leaves no bench data on a shared server.
 */
export function trackBenchDatabases(mongoUri: string): { open(name: string): Promise<BenchDatabase>; cleanup(): Promise<void> } {
  const opened: BenchDatabase[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      for (const db of opened) {
        try {
          await db.drop();
        } catch (error) {
          log(`could not drop ${db.connection.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
        await db.close().catch(() => undefined);
      }
    })();
    return cleaning;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  return {
    async open(name) {
      const db = await openBenchDatabase(mongoUri, name);
      opened.push(db);
      return db;
    },
    cleanup,
  };
}
