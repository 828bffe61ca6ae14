import { describe, expect, it } from 'vitest';
import type { JobPhase } from '../api/types';
import { FAST_MS, STEADY_MS, intervalForPhase, jobPollInterval, listRefetchInterval, refetchIntervalFor } from './polling';

const FAST: JobPhase[] = ['queued', 'preparing', 'warming_up', 'configuring', 'staging_db', 'submitting', 'waiting_for_submit_slot', 'paused'];
const STEADY: JobPhase[] = ['running', 'exporting_results', 'cancelling'];
const TERMINAL: JobPhase[] = ['completed', 'failed', 'cancelled'];

describe('intervalForPhase', () => {
  it.each(FAST)('polls %s fast (1 s)', (phase) => {
    expect(intervalForPhase(phase)).toBe(FAST_MS);
    expect(FAST_MS).toBe(1000);
  });
  it.each(STEADY)('polls %s steadily (3 s)', (phase) => {
    expect(intervalForPhase(phase)).toBe(STEADY_MS);
    expect(STEADY_MS).toBe(3000);
  });
  it.each(TERMINAL)('stops polling at %s', (phase) => {
    expect(intervalForPhase(phase)).toBe(false);
  });
  it('polls fast before any data arrived', () => {
    expect(intervalForPhase(undefined)).toBe(FAST_MS);
    expect(refetchIntervalFor(undefined)).toBe(FAST_MS);
  });
});

describe('refetchIntervalFor', () => {
  it.each([...FAST, ...STEADY, ...TERMINAL])('falls back to the phase sets for %s without a hint', (phase) => {
    expect(refetchIntervalFor({ phase })).toBe(intervalForPhase(phase));
  });
  it('prefers poll_after_ms when it is a number', () => {
    expect(refetchIntervalFor({ phase: 'running', poll_after_ms: 1000 })).toBe(1000);
    expect(refetchIntervalFor({ phase: 'queued', poll_after_ms: 3000 })).toBe(3000);
    expect(refetchIntervalFor({ phase: 'staging_db', poll_after_ms: 250 })).toBe(250);
  });
  it.each(TERMINAL)('stops at terminal phase %s when poll_after_ms is null', (phase) => {
    expect(refetchIntervalFor({ phase, poll_after_ms: null })).toBe(false);
  });
  it('keeps polling a live phase whose poll_after_ms is null', () => {
    expect(refetchIntervalFor({ phase: 'running', poll_after_ms: null })).toBe(STEADY_MS);
    expect(refetchIntervalFor({ phase: 'submitting', poll_after_ms: null })).toBe(FAST_MS);
  });
});

describe('listRefetchInterval', () => {
  it('polls every 3 s while a listed job is queued or running', () => {
    expect(listRefetchInterval([{ status: 'completed' }, { status: 'running' }])).toBe(3000);
    expect(listRefetchInterval([{ status: 'queued' }])).toBe(3000);
  });
  it('stops when every listed job is finished', () => {
    expect(listRefetchInterval([{ status: 'completed' }, { status: 'failed' }, { status: 'cancelled' }])).toBe(false);
    expect(listRefetchInterval([])).toBe(false);
    expect(listRefetchInterval(undefined)).toBe(false);
  });
});

describe('jobPollInterval', () => {
  const transient = (e: unknown) => e === 'down';
  it('is off while the stream is healthy', () => {
    expect(jobPollInterval({ data: { phase: 'running' }, error: null }, true, transient)).toBe(false);
    expect(jobPollInterval({ data: undefined, error: null }, true, transient)).toBe(false);
  });
  it('follows the job when the stream is down', () => {
    expect(jobPollInterval({ data: { phase: 'running', poll_after_ms: 3000 }, error: null }, false, transient)).toBe(3000);
    expect(jobPollInterval({ data: { phase: 'submitting' }, error: null }, false, transient)).toBe(1000);
    expect(jobPollInterval({ data: { phase: 'completed', poll_after_ms: null }, error: null }, false, transient)).toBe(false);
  });
  it('keeps retrying at the current cadence after a transient failure', () => {
    expect(jobPollInterval({ data: undefined, error: 'down' }, false, transient)).toBe(1000);
    expect(jobPollInterval({ data: { phase: 'running' }, error: 'down' }, false, transient)).toBe(3000);
    expect(jobPollInterval({ data: { phase: 'staging_db' }, error: 'down' }, false, transient)).toBe(1000);
  });
  it('stops after a permanent failure such as 404', () => {
    expect(jobPollInterval({ data: undefined, error: 'gone' }, false, transient)).toBe(false);
  });
});
