// How often to re-fetch a job while it is live. Pure: no React, no fetch.
// The phase sets and intervals are the server's (domain/pipeline_model.py, generated).
import {
  FAST_POLL_INTERVAL_MS,
  FAST_POLL_PHASES,
  STEADY_POLL_INTERVAL_MS,
  STEADY_POLL_PHASES,
  TERMINAL_PHASES as TERMINAL,
} from '../api/domain.generated';
import type { Job, JobPhase } from '../api/types';

export const FAST_MS = FAST_POLL_INTERVAL_MS;
export const STEADY_MS = STEADY_POLL_INTERVAL_MS;

/** Phases that usually last a second or two: poll fast so each step is seen. */
export const FAST_PHASES: ReadonlySet<JobPhase> = new Set(FAST_POLL_PHASES);

/** Phases that can last minutes: poll steadily. */
export const STEADY_PHASES: ReadonlySet<JobPhase> = new Set(STEADY_POLL_PHASES);

/** Nothing changes after these: stop polling. */
export const TERMINAL_PHASES: ReadonlySet<JobPhase> = new Set(TERMINAL);

/** What the interval is chosen from: a job's phase and the server's hint, if it sent one. */
type PollHint = Pick<Job, 'phase'> & Partial<Pick<Job, 'poll_after_ms'>>;

export function isTerminalPhase(phase: JobPhase | undefined | null): boolean {
  return phase != null && TERMINAL_PHASES.has(phase);
}

/** A job (or list row) that is still moving: queued or running. */
export function isActiveJob(job: Pick<Job, 'status'>): boolean {
  return job.status === 'queued' || job.status === 'running';
}

/** The polling interval by phase alone; unknown phases are treated as fast (safe default). */
export function intervalForPhase(phase: JobPhase | undefined | null): number | false {
  if (phase == null) return FAST_MS;
  if (TERMINAL_PHASES.has(phase)) return false;
  if (STEADY_PHASES.has(phase)) return STEADY_MS;
  return FAST_MS;
}

/**
 * TanStack Query's refetchInterval for a job. The server's `poll_after_ms` hint wins when it
 * is a number; `null` on a terminal job means "stop"; otherwise fall back to the phase sets.
 */
export function refetchIntervalFor(job: PollHint | undefined | null): number | false {
  if (!job) return FAST_MS;
  const hint = job.poll_after_ms;
  if (typeof hint === 'number' && Number.isFinite(hint) && hint > 0) return hint;
  if (hint === null && isTerminalPhase(job.phase)) return false;
  return intervalForPhase(job.phase);
}

/** The jobs list polls only while something on screen can still change. */
export const LIST_POLL_MS = 3000;
export function listRefetchInterval(jobs: Pick<Job, 'status'>[] | undefined): number | false {
  return jobs?.some(isActiveJob) ? LIST_POLL_MS : false;
}

/**
 * The job query's interval, given what the query last saw: off while the push stream is
 * healthy; on a transient failure keep trying at the cadence of the last known phase (fast
 * with no data); on any other failure (404, 403) stop.
 */
export function jobPollInterval(
  state: { data: PollHint | undefined; error: unknown },
  streaming: boolean,
  isTransientError: (error: unknown) => boolean,
): number | false {
  if (streaming) return false;
  if (state.error && !isTransientError(state.error)) return false;
  if (state.error && state.data) return intervalForPhase(state.data.phase) || false;
  return refetchIntervalFor(state.data);
}
