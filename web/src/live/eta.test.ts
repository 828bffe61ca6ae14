import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/jobFixture';
import { estimateRemainingMs, formatRemaining, runTiming } from './eta';

describe('estimateRemainingMs', () => {
  it('extrapolates the rate of the batches done so far', () => {
    expect(estimateRemainingMs(60_000, 3, 12)).toBe(180_000);
    expect(estimateRemainingMs(10_000, 1, 2)).toBe(10_000);
  });
  it('has no estimate before the first batch, after the last, or without a start', () => {
    expect(estimateRemainingMs(60_000, 0, 12)).toBeNull();
    expect(estimateRemainingMs(60_000, 12, 12)).toBeNull();
    expect(estimateRemainingMs(60_000, 0, 0)).toBeNull();
    expect(estimateRemainingMs(null, 3, 12)).toBeNull();
  });
});

describe('runTiming', () => {
  const now = Date.parse('2026-01-01T00:05:00.000Z');
  it('times the job from submission and BLAST Run from its start', () => {
    const job = makeJob(
      { progress: { batches_done: 2, batches_total: 6 } },
      { submitting: 'completed', running: { status: 'running', started_at: '2026-01-01T00:01:00.000Z' } },
    );
    expect(runTiming(job, now)).toEqual({
      jobElapsedMs: 300_000,
      runElapsedMs: 240_000,
      batchesDone: 2,
      batchesTotal: 6,
      remainingMs: 480_000,
    });
  });
  it('has no estimate for one long query still in its only batch', () => {
    const job = makeJob({ progress: { batches_done: 0, batches_total: 1 } }, { running: 'running' });
    const timing = runTiming(job, now);
    expect(timing.runElapsedMs).toBe(300_000);
    expect(timing.remainingMs).toBeNull();
  });
  it('stops the job clock at its end and has no run clock once BLAST Run is over', () => {
    const job = makeJob({ status: 'completed', phase: 'completed', finished_at: '2026-01-01T00:00:42.000Z' }, { running: 'completed' });
    expect(runTiming(job, now)).toMatchObject({ jobElapsedMs: 42_000, runElapsedMs: null, remainingMs: null });
  });
});

describe('formatRemaining', () => {
  it('rounds to what an estimate can promise', () => {
    expect(formatRemaining(4_000)).toBe('under 10 s');
    expect(formatRemaining(42_000)).toBe('about 40 s');
    expect(formatRemaining(250_000)).toBe('about 4 min');
    expect(formatRemaining(7_500_000)).toBe('about 2 h 05 min');
  });
});
