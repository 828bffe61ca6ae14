import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/jobFixture';
import { refetchIntervalFor } from './polling';
import { deriveSteps, stepElapsedMs } from './steps';

const byKey = (job: Parameters<typeof deriveSteps>[0]) => Object.fromEntries(deriveSteps(job).map((s) => [s.key, s]));

describe('deriveSteps', () => {
  it('lists the eight steps in pipeline order', () => {
    expect(deriveSteps(makeJob()).map((s) => s.label)).toEqual([
      'Prepare', 'Warmup Check', 'Configure', 'Stage DB', 'Submit', 'BLAST Run', 'Export', 'Complete',
    ]);
  });

  it('(a) shows a skipped staging_db with its reason, followed by an active submitting', () => {
    const job = makeJob(
      { status: 'running', phase: 'submitting' },
      {
        preparing: 'completed',
        warming_up: 'completed',
        configuring: 'completed',
        staging_db: { status: 'skipped', skip_reason: 'database already staged on local' },
        submitting: 'running',
      },
    );
    const s = byKey(job);
    expect(s.staging_db).toMatchObject({ state: 'skipped', badge: 'skipped', spinner: false, detail: 'database already staged on local' });
    expect(s.submitting).toMatchObject({ state: 'active', badge: 'in progress', spinner: true, ticking: true });
    expect(s.running).toMatchObject({ state: 'pending', badge: 'pending', spinner: false });
    expect(s.configuring).toMatchObject({ state: 'completed', badge: 'completed' });
  });

  it('(b) keeps Submit the active step, labelled waiting, while waiting for the submit slot', () => {
    const job = makeJob(
      {
        status: 'running',
        phase: 'waiting_for_submit_slot',
        cluster: 'k8s',
        namespace: 'blast',
        waiting_for: { what: 'submit_slot', cluster: 'k8s', namespace: 'blast', lock_key: 'elb:k8s:blast', holder_job_id: 'abc123' },
      },
      { preparing: 'completed', warming_up: 'completed', configuring: 'completed', staging_db: 'completed', submitting: 'running' },
    );
    const steps = deriveSteps(job);
    const submit = steps.find((s) => s.key === 'submitting')!;
    expect(submit).toMatchObject({ state: 'waiting', badge: 'waiting', ticking: true });
    expect(submit.detail).toBe('waiting for the submit slot of cluster k8s / namespace blast (held by job abc123)');
    // No other step is under way.
    expect(steps.filter((s) => s.state === 'active' || s.state === 'waiting').map((s) => s.key)).toEqual(['submitting']);
  });

  it('(b) names the job cluster when waiting_for is missing, without a holder', () => {
    const job = makeJob(
      { phase: 'waiting_for_submit_slot', cluster: 'c1', namespace: 'n1' },
      { submitting: 'running' },
    );
    expect(byKey(job).submitting!.detail).toBe('waiting for the submit slot of cluster c1 / namespace n1');
  });

  it('(b) a paused job waits at Submit and says who paused its cluster and since when', () => {
    const message = 'cluster k8s / namespace blast is paused by root since 2026-11-30 23:00:00 UTC';
    const job = makeJob(
      {
        status: 'running',
        phase: 'paused',
        cluster: 'k8s',
        namespace: 'blast',
        waiting_for: {
          what: 'paused', cluster: 'k8s', namespace: 'blast', lock_key: 'elb:k8s:blast', holder_job_id: null,
          scope: 'namespace', paused_by: 'root', paused_since: '2026-11-30T23:00:00+00:00', message,
        },
      },
      { preparing: 'completed', warming_up: 'completed', configuring: 'completed', staging_db: 'completed', submitting: 'running' },
    );
    const steps = deriveSteps(job);
    const submit = steps.find((s) => s.key === 'submitting')!;
    expect(submit).toMatchObject({ state: 'waiting', badge: 'waiting', ticking: true, spinner: false });
    expect(submit.detail).toBe(`${message}; waiting to be resumed`);
    expect(steps.filter((s) => s.state === 'active' || s.state === 'waiting').map((s) => s.key)).toEqual(['submitting']);
  });

  it('(c) a failed job never shows a spinner, and a step left running shows the job error', () => {
    const job = makeJob(
      { status: 'failed', phase: 'failed', error: 'BLAST exited with 3', error_code: 'blast_search_failed', poll_after_ms: null },
      { preparing: 'completed', warming_up: 'completed', configuring: 'completed', staging_db: 'completed', submitting: 'completed', running: 'running' },
    );
    const steps = deriveSteps(job);
    expect(steps.some((s) => s.spinner)).toBe(false);
    expect(steps.some((s) => s.ticking)).toBe(false);
    const run = steps.find((s) => s.key === 'running')!;
    expect(run).toMatchObject({ state: 'failed', badge: 'failed', detail: 'BLAST exited with 3', errorCode: 'blast_search_failed' });
  });

  it('(c) a failed step shows its own error and the job error_code', () => {
    const job = makeJob(
      { status: 'failed', phase: 'failed', error: 'job error', error_code: 'staging_failed' },
      { preparing: 'completed', staging_db: { status: 'failed', error: 'copy failed' } },
    );
    const stage = byKey(job).staging_db!;
    expect(stage).toMatchObject({ state: 'failed', badge: 'failed', spinner: false, detail: 'copy failed', errorCode: 'staging_failed' });
  });

  it('a cancelled job shows no spinner; the step it stopped is cancelled, not failed', () => {
    const job = makeJob({ status: 'cancelled', phase: 'cancelled', poll_after_ms: null }, { preparing: 'completed', running: 'cancelled' });
    const steps = deriveSteps(job);
    expect(steps.some((s) => s.spinner || s.ticking)).toBe(false);
    expect(byKey(job).running).toMatchObject({ state: 'cancelled', badge: 'cancelled', interrupted: true });
    expect(byKey(job).exporting_results).toMatchObject({ state: 'pending', badge: 'pending' });
    expect(steps.some((s) => s.state === 'failed')).toBe(false);
  });

  it('a step an older server left running on a cancelled job is shown cancelled too', () => {
    const job = makeJob({ status: 'cancelled', phase: 'cancelled', poll_after_ms: null }, { preparing: 'completed', submitting: 'running' });
    expect(byKey(job).submitting).toMatchObject({ state: 'cancelled', badge: 'cancelled', spinner: false });
  });

  it('(d) terminal phases stop polling and show no spinner', () => {
    for (const phase of ['completed', 'failed', 'cancelled'] as const) {
      const job = makeJob({ status: phase, phase, poll_after_ms: null }, { preparing: 'completed', running: 'running' });
      expect(refetchIntervalFor(job)).toBe(false);
      expect(deriveSteps(job).some((s) => s.spinner)).toBe(false);
    }
  });

  it('treats the phase step as active when the payload has no running step yet', () => {
    const job = makeJob({ status: 'running', phase: 'configuring' }, { preparing: 'completed', warming_up: 'completed' });
    expect(byKey(job).configuring).toMatchObject({ state: 'active', spinner: true });
  });

  it('shows every step completed on a completed job', () => {
    const all = Object.fromEntries(
      ['preparing', 'warming_up', 'configuring', 'staging_db', 'submitting', 'running', 'exporting_results', 'completed'].map((k) => [k, 'completed']),
    );
    const job = makeJob({ status: 'completed', phase: 'completed', poll_after_ms: null }, all);
    expect(deriveSteps(job).every((s) => s.badge === 'completed' && !s.spinner)).toBe(true);
  });
});

describe('stepElapsedMs', () => {
  it('ticks from started_at for a live step', () => {
    const now = Date.parse('2026-01-01T00:00:05.500Z');
    expect(stepElapsedMs({ ticking: true, startedAt: '2026-01-01T00:00:00.000Z', durationMs: null }, now)).toBe(5500);
  });
  it('uses duration_ms once the step is over', () => {
    expect(stepElapsedMs({ ticking: false, startedAt: '2026-01-01T00:00:00.000Z', durationMs: 42 }, 1e15)).toBe(42);
  });
});
