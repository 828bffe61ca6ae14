// How long a running job has taken and, from its batch progress, about how long it has left. Pure.
import type { Job } from '../api/types';
import { jobDurationMs } from '../format/text';

export interface RunTiming {
  /** Since the job was submitted (to its end once it has ended). */
  jobElapsedMs: number | null;
  /** Since the BLAST Run step started, while it runs. */
  runElapsedMs: number | null;
  batchesDone: number;
  batchesTotal: number;
  /** An estimate of the time left in BLAST Run; null when there is no basis for one. */
  remainingMs: number | null;
}

/**
 * The time left at the rate batches have finished so far: elapsed × (total − done) / done.
 * Null before the first batch finishes (no rate yet) or once all are done. Batches run largest
 * first, so this errs long.
 */
export function estimateRemainingMs(elapsedMs: number | null, done: number, total: number): number | null {
  if (elapsedMs == null || !Number.isFinite(elapsedMs) || elapsedMs < 0) return null;
  if (done <= 0 || total <= 0 || done >= total) return null;
  return (elapsedMs * (total - done)) / done;
}

type JobForTiming = Pick<Job, 'status' | 'phase' | 'steps' | 'progress' | 'created_at' | 'finished_at'>;

export function runTiming(job: JobForTiming, nowMs: number): RunTiming {
  const run = job.steps.find((s) => s.key === 'running');
  const started = run?.status === 'running' && run.started_at ? Date.parse(run.started_at) : NaN;
  const runElapsedMs = Number.isNaN(started) ? null : Math.max(0, nowMs - started);
  const { batches_done: batchesDone, batches_total: batchesTotal } = job.progress;
  return {
    jobElapsedMs: jobDurationMs(job, nowMs),
    runElapsedMs,
    batchesDone,
    batchesTotal,
    remainingMs: estimateRemainingMs(runElapsedMs, batchesDone, batchesTotal),
  };
}

/** An estimate said no more precisely than it is: "under 10 s", "about 40 s", "about 4 min", "about 2 h 05 min". */
export function formatRemaining(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 10) return 'under 10 s';
  if (seconds < 60) return `about ${Math.round(seconds / 5) * 5} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
