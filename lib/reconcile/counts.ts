/** What a reconciliation did; every user it looked at lands in exactly one bucket but `scanned`. */
export interface ReconcileCounts {
  scanned: number;
  created: number;
  updated: number;
  tombstoned: number;
  unchanged: number;
  failed: number;
}

export const emptyCounts = (): ReconcileCounts => ({ scanned: 0, created: 0, updated: 0, tombstoned: 0, unchanged: 0, failed: 0 });

export function addCounts(into: ReconcileCounts, more: ReconcileCounts): ReconcileCounts {
  for (const key of Object.keys(into) as (keyof ReconcileCounts)[]) into[key] += more[key];
  return into;
}
