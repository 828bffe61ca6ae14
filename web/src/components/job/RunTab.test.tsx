// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render as renderPlain, screen } from '@testing-library/react';
import type { ReactElement } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeJob } from '../../testing/jobFixture';
import { RunTab } from './RunTab';

// The Run tab's configuration panel reads through TanStack Query.
function render(ui: ReactElement) {
  return renderPlain(<QueryClientProvider client={new QueryClient()}>{ui}</QueryClientProvider>);
}

beforeEach(() => {
  // The event log asks the server for events; answer with none.
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ items: [] }), { status: 200 })));
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const badge = (key: string) => screen.getByTestId(`step-badge-${key}`).textContent;

describe('RunTab', () => {
  it('shows Stage DB skipped with its reason and Submit waiting for the slot', () => {
    const job = makeJob(
      {
        phase: 'waiting_for_submit_slot',
        waiting_for: { what: 'submit_slot', cluster: 'local', namespace: 'default', lock_key: 'elb:local:default', holder_job_id: 'other-job' },
      },
      {
        preparing: 'completed',
        warming_up: 'completed',
        configuring: 'completed',
        staging_db: { status: 'skipped', skip_reason: 'a warm copy is already staged' },
        submitting: 'running',
      },
    );
    render(<RunTab job={job} />);
    expect(badge('staging_db')).toBe('skipped');
    expect(screen.getByTestId('step-staging_db').textContent).toContain('a warm copy is already staged');
    expect(badge('submitting')).toBe('waiting');
    expect(screen.getByTestId('step-submitting').textContent).toContain(
      'waiting for the submit slot of cluster local / namespace default (held by job other-job)',
    );
    expect(badge('running')).toBe('pending');
    expect(screen.getByTestId('event-log')).toBeTruthy();
  });

  it('shows a spinner only on the active step, and a progress bar while running', () => {
    const job = makeJob({ phase: 'running', progress: { batches_done: 2, batches_total: 5 } }, { submitting: 'completed', running: 'running' });
    const { container } = render(<RunTab job={job} />);
    expect(badge('running')).toBe('in progress');
    expect(container.querySelectorAll('.spinner')).toHaveLength(1);
    expect(screen.getByTestId('batch-progress').textContent).toContain('Batches done: 2 of 5');
  });

  it('times a running job and estimates the time left from its batches', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:05:00.000Z'));
    try {
      const job = makeJob(
        { phase: 'running', progress: { batches_done: 3, batches_total: 12 } },
        { submitting: 'completed', running: { status: 'running', started_at: '2026-01-01T00:02:00.000Z' } },
      );
      render(<RunTab job={job} />);
      expect(screen.getByTestId('job-elapsed').textContent).toBe('Since submission: 5 min 00 s');
      expect(screen.getByTestId('run-elapsed').textContent).toBe('BLAST Run: 3 min 00 s');
      // 3 of 12 batches in 3 min: 9 more at that rate.
      expect(screen.getByTestId('time-left').textContent).toBe('Time left: about 9 min (from 3 of 12 batches done)');
    } finally {
      vi.useRealTimers();
    }
  });

  it('says a one-batch job is one BLAST process, done when it finishes, with no estimate', () => {
    const job = makeJob({ phase: 'running', progress: { batches_done: 0, batches_total: 1 } }, { running: 'running' });
    render(<RunTab job={job} />);
    expect(screen.getByTestId('run-elapsed')).toBeTruthy();
    expect(screen.getByTestId('batch-progress').textContent).toContain('One BLAST process for the whole job');
    expect(screen.getByTestId('time-left').textContent).toBe(
      'Time left: not estimated (one BLAST process: no batch finishes before the job)',
    );
  });

  it('gives no estimate before the first of several batches finishes', () => {
    const job = makeJob({ phase: 'running', progress: { batches_done: 0, batches_total: 4 } }, { running: 'running' });
    render(<RunTab job={job} />);
    expect(screen.getByTestId('time-left').textContent).toBe('Time left: estimated once a batch finishes');
  });

  it('shows the step a cancel stopped as cancelled, not failed', () => {
    const job = makeJob({ status: 'cancelled', phase: 'cancelled', poll_after_ms: null }, { preparing: 'completed', running: 'cancelled' });
    const { container } = render(<RunTab job={job} />);
    expect(badge('running')).toBe('cancelled');
    expect(screen.getByTestId('step-running').getAttribute('data-state')).toBe('cancelled');
    expect(container.querySelectorAll('[data-state="failed"]')).toHaveLength(0);
    expect(screen.queryByTestId('run-timing')).toBeNull();
  });

  it('never spins on a failed job and shows the error with its code', () => {
    const job = makeJob(
      { status: 'failed', phase: 'failed', error: 'BLAST ran out of memory', error_code: 'blast_out_of_memory', poll_after_ms: null },
      { running: 'running' },
    );
    const { container } = render(<RunTab job={job} />);
    expect(container.querySelectorAll('.spinner')).toHaveLength(0);
    expect(badge('running')).toBe('failed');
    expect(screen.getByTestId('step-running').textContent).toContain('blast_out_of_memory');
  });

  it('through a share link shows the steps but asks for neither the commands nor the event log', () => {
    const all = { preparing: 'completed', warming_up: 'completed', configuring: 'completed', staging_db: 'completed', submitting: 'completed', running: 'completed', exporting_results: 'completed', completed: 'completed' } as const;
    const job = makeJob({ status: 'completed', phase: 'completed', poll_after_ms: null }, all);
    render(<RunTab job={job} shared />);
    expect(badge('configuring')).toBe('completed');
    expect(screen.queryByTestId('event-log')).toBeNull();
    expect(screen.queryByTestId('config-preview')).toBeNull();
    expect(fetch).not.toHaveBeenCalled(); // the link offers no /events or /config
    cleanup();
    render(<RunTab job={job} />); // the owner's: both
    expect(screen.getByTestId('event-log')).toBeTruthy();
    expect(screen.getByTestId('config-preview')).toBeTruthy();
  });
});
