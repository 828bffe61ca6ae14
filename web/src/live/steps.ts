// What each pipeline step looks like on the Run tab, derived from the job payload. Pure.
import { STEP_LABELS, STEPS, SUBMIT_WAIT_PHASES } from '../api/domain.generated';
import type { Job, JobStep, StepKey } from '../api/types';

export type StepState = 'completed' | 'active' | 'waiting' | 'skipped' | 'failed' | 'cancelled' | 'pending';
export type StepBadge = 'completed' | 'in progress' | 'waiting' | 'skipped' | 'failed' | 'cancelled' | 'pending';

// The steps and their labels are the server's (domain/pipeline_model.py, generated).
export const STEP_ORDER: readonly StepKey[] = STEPS;

export const DEFAULT_LABELS: Readonly<Record<StepKey, string>> = STEP_LABELS;

const BADGES: Record<StepState, StepBadge> = {
  completed: 'completed',
  active: 'in progress',
  waiting: 'waiting',
  skipped: 'skipped',
  failed: 'failed',
  cancelled: 'cancelled',
  pending: 'pending',
};

export interface StepView {
  key: StepKey;
  label: string;
  state: StepState;
  badge: StepBadge;
  spinner: boolean;
  /** Duration ticks live from `startedAt` (active or waiting step of a live job). */
  ticking: boolean;
  startedAt: string | null;
  durationMs: number | null;
  /** Skip reason, error message or waiting text. */
  detail: string | null;
  errorCode: string | null;
  /** The step that was under way when the job was cancelled (state `cancelled`). */
  interrupted: boolean;
}

type JobForSteps = Pick<Job, 'status' | 'phase' | 'steps' | 'error' | 'error_code' | 'waiting_for' | 'cluster' | 'namespace'>;

export function waitingText(job: Pick<Job, 'waiting_for' | 'cluster' | 'namespace'>): string {
  const w = job.waiting_for;
  const cluster = w?.cluster ?? job.cluster;
  const namespace = w?.namespace ?? job.namespace;
  if (w?.what === 'paused') {
    // phase `paused`: an admin paused the cluster or namespace; it waits to be resumed.
    return `${w.message ?? `cluster ${cluster} / namespace ${namespace} is paused`}; waiting to be resumed`;
  }
  const holder = w?.holder_job_id ? ` (held by job ${w.holder_job_id})` : '';
  return `waiting for the submit slot of cluster ${cluster} / namespace ${namespace}${holder}`;
}

/** The eight steps in pipeline order, each with its display state. */
export function deriveSteps(job: JobForSteps): StepView[] {
  const byKey = new Map(job.steps.map((s) => [s.key, s]));
  const terminal = job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';
  // Waiting before the submit slot: for the slot itself, or for a paused cluster's resume.
  const waitingForSlot = (SUBMIT_WAIT_PHASES as readonly string[]).includes(job.phase);
  // If the payload has no running step yet but the phase names one, that step is the active one.
  const anyRunning = job.steps.some((s) => s.status === 'running');
  const phaseStep: StepKey | null = waitingForSlot
    ? 'submitting'
    : (STEP_ORDER as readonly string[]).includes(job.phase)
      ? (job.phase as StepKey)
      : null;

  return STEP_ORDER.map((key) => {
    const step: JobStep = byKey.get(key) ?? emptyStep(key);
    const base: StepView = {
      key,
      label: step.label || DEFAULT_LABELS[key],
      state: 'pending',
      badge: 'pending',
      spinner: false,
      ticking: false,
      startedAt: step.started_at,
      durationMs: step.duration_ms,
      detail: null,
      errorCode: null,
      interrupted: false,
    };
    const underWay = step.status === 'running' || (!anyRunning && !terminal && step.status === 'pending' && key === phaseStep);
    let view: StepView;
    if (step.status === 'completed') {
      view = { ...base, state: 'completed' };
    } else if (step.status === 'skipped') {
      view = { ...base, state: 'skipped', detail: step.skip_reason };
    } else if (step.status === 'failed') {
      view = { ...base, state: 'failed', detail: step.error ?? job.error, errorCode: job.error_code };
    } else if (step.status === 'cancelled') {
      view = { ...base, state: 'cancelled', detail: step.error, interrupted: true };
    } else if (underWay && terminal) {
      // A step left "running" on a finished job: never a spinner.
      if (job.status === 'failed') {
        view = { ...base, state: 'failed', detail: step.error ?? job.error, errorCode: job.error_code };
      } else if (job.status === 'cancelled') {
        // A server from before the `cancelled` step status left the step running.
        view = { ...base, state: 'cancelled', interrupted: true };
      } else {
        view = { ...base, state: 'completed' };
      }
    } else if (underWay && key === 'submitting' && waitingForSlot) {
      view = { ...base, state: 'waiting', ticking: step.started_at != null, detail: waitingText(job) };
    } else if (underWay) {
      view = { ...base, state: 'active', spinner: true, ticking: step.started_at != null };
    } else {
      view = base;
    }
    return { ...view, badge: BADGES[view.state] };
  });
}

/** Milliseconds to show next to a step: live for a ticking step, else the final duration. */
export function stepElapsedMs(view: Pick<StepView, 'ticking' | 'startedAt' | 'durationMs'>, nowMs: number): number | null {
  if (view.ticking && view.startedAt) {
    const started = Date.parse(view.startedAt);
    return Number.isNaN(started) ? null : Math.max(0, nowMs - started);
  }
  return view.durationMs;
}

function emptyStep(key: StepKey): JobStep {
  return {
    key,
    label: DEFAULT_LABELS[key],
    status: 'pending',
    started_at: null,
    completed_at: null,
    duration_ms: null,
    skip_reason: null,
    error: null,
  };
}
