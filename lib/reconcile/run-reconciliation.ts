import { randomUUID } from "node:crypto";
import { addCounts, emptyCounts, type ReconcileCounts } from "./counts.js";
import { type ChunkOptions, type DriftItem, maxKnownStates, readKnownStates, type ReconcileDeps, type RunRef, scanChunk, sweepChunk } from "./reconcile-chunks.js";
import type { RunPhase } from "./run-reports.js";

export interface ReconcileProgress {
  phase: "scan" | "sweep";
  /** The run's totals so far (a resumed run's include what it did before the crash). */
  counts: ReconcileCounts;
}

export interface RunMode {
  dryRun?: boolean;
  force?: boolean;
}

export type RunStart = { runId: string; resumed: false } | { runId: string; resumed: true; phase: RunPhase; counts: ReconcileCounts };

/**
 * Starts a run, or resumes the newest unfinished run of this trigger when it has the same
 * mode (a crashed `npm run sync`): this process becomes its owner, so a process still
 * running it stops at its next checkpoint. An unfinished run of another mode is closed as
 * failed (`superseded`) and a new run starts.
 */
export async function startOrResumeRun(
  deps: Pick<ReconcileDeps, "reports" | "directory">,
  trigger: string,
  mode: RunMode,
  owner: string = randomUUID(),
): Promise<RunRef & RunStart> {
  const unfinished = await deps.reports.unfinished(trigger);
  if (unfinished) {
    if (unfinished.dryRun === (mode.dryRun ?? false) && unfinished.force === (mode.force ?? false)) {
      await deps.reports.claim(unfinished.id, owner);
      return { id: unfinished.id, runId: unfinished.id, owner, resumed: true, phase: unfinished.phase, counts: unfinished.counts };
    }
    await deps.reports.finish(unfinished.id, { counts: unfinished.counts, error: "superseded: a run of another mode started before it finished" });
  }
  const runId = `${trigger}-${new Date().toISOString()}-${owner.slice(0, 8)}`;
  const total = await deps.directory.count();
  await deps.reports.start(runId, trigger, mode.dryRun ?? false, new Date(), { force: mode.force ?? false, owner, total });
  return { id: runId, runId, owner, resumed: false };
}

/**
 * The users' reconciliation of one run in one process (the CLI and benchmarks), from its
 * checkpoint to the end of the sweep. The Inngest function runs the same chunks, one step each.
 * Returns the run's totals (the report's, so a resumed run's include the part before the crash).
 * Up to `maxKnownStates` users (Clerk's count at the start), one pass reads every stored user's
 * sync state first (`readKnownStates`): our users are then read once a run instead of twice (a
 * read a batch, then the sweep's pass). Resuming reads it again: the database holds it.
 */
export async function runReconciliation(
  deps: ReconcileDeps,
  run: RunRef,
  options: ChunkOptions & { onProgress?: (progress: ReconcileProgress) => void; onDrift?: (drift: DriftItem[]) => void } = {},
): Promise<ReconcileCounts> {
  const state = await deps.reports.state(run.id);
  const totals = state?.counts ?? emptyCounts();
  let phase: RunPhase = state?.phase ?? "scan";
  const inOnePass = (phase === "scan" || phase === "sweep") && state?.total != null && state.total <= maxKnownStates;
  const chunkOptions: ChunkOptions = { ...options, ...(inOnePass && !options.known && { known: await readKnownStates(deps.users) }) };
  while (phase === "scan" || phase === "sweep") {
    const current: "scan" | "sweep" = phase;
    const chunk = await (current === "scan" ? scanChunk : sweepChunk)(deps, run, chunkOptions);
    addCounts(totals, chunk.counts);
    options.onDrift?.(chunk.drift);
    options.onProgress?.({ phase: current, counts: totals });
    phase = chunk.phase;
  }
  return totals;
}
