// Builds job payloads for tests, shaped like GET /api/jobs/<id>.
import type { Job, JobStep, StepKey, StepStatus } from '../api/types';
import { DEFAULT_LABELS as LABELS, STEP_ORDER } from '../live/steps';

export function makeStep(key: StepKey, status: StepStatus = 'pending', extra: Partial<JobStep> = {}): JobStep {
  const started = status === 'pending' || status === 'skipped' ? null : '2026-01-01T00:00:00.000Z';
  const done = status === 'completed' || status === 'failed' || status === 'cancelled';
  return {
    key,
    label: LABELS[key],
    status,
    started_at: started,
    completed_at: done ? '2026-01-01T00:00:01.000Z' : null,
    duration_ms: done ? 1000 : null,
    skip_reason: null,
    error: null,
    ...extra,
  };
}

/** A job whose steps have the given statuses (missing ones pending). */
export function makeJob(overrides: Partial<Job> = {}, steps: Partial<Record<StepKey, StepStatus | Partial<JobStep>>> = {}): Job {
  return {
    id: 'job-1',
    title: 'test',
    program: 'blastn',
    database: 'demo-16s',
    databases: ['demo-16s'],
    cluster: 'local',
    namespace: 'default',
    options: {},
    status: 'running',
    phase: 'running',
    error_code: null,
    error_category: null,
    error: null,
    waiting_for: null,
    steps: STEP_ORDER.map((key) => {
      const spec = steps[key];
      if (spec === undefined) return makeStep(key);
      if (typeof spec === 'string') return makeStep(key, spec);
      return makeStep(key, spec.status ?? 'pending', spec);
    }),
    progress: { batches_done: 0, batches_total: 0 },
    owner: null,
    query_count: 1,
    query_letters: 100,
    hits_total: null,
    hsps_total: 0,
    poll_after_ms: 1000,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    finished_at: null,
    ...overrides,
  };
}
