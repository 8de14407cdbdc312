import { addCounts, emptyCounts, type ReconcileCounts } from "./counts.js";
import { type ChunkOptions, type DriftItem, type ReconcileDeps, scanChunk, sweepChunk } from "./reconcile-chunks.js";

export interface ReconcileProgress {
  phase: "scan" | "sweep";
  counts: ReconcileCounts;
}

/**
 * The whole reconciliation in one process (the CLI and benchmarks). The Inngest function
 * runs the same chunks, one step each.
 */
export async function runReconciliation(
  deps: ReconcileDeps,
  options: ChunkOptions & { onProgress?: (progress: ReconcileProgress) => void; onDrift?: (drift: DriftItem[]) => void } = {},
): Promise<ReconcileCounts> {
  const totals = emptyCounts();
  let offset: number | null = 0;
  do {
    const chunk: Awaited<ReturnType<typeof scanChunk>> = await scanChunk(deps, offset, options);
    addCounts(totals, chunk.counts);
    options.onDrift?.(chunk.drift);
    options.onProgress?.({ phase: "scan", counts: totals });
    offset = chunk.next;
  } while (offset !== null);

  let afterId: string | null = null;
  do {
    const chunk: Awaited<ReturnType<typeof sweepChunk>> = await sweepChunk(deps, afterId, options);
    addCounts(totals, chunk.counts);
    options.onDrift?.(chunk.drift);
    options.onProgress?.({ phase: "sweep", counts: totals });
    afterId = chunk.next;
  } while (afterId !== null);
  return totals;
}
