import { describe, expect, it } from 'vitest';
import { partialNote } from './partial';

describe('partialNote', () => {
  it('says nothing about a complete table', () => {
    expect(partialNote({ partial: false, batches_done: 12, batches_total: 12 }, 'completed')).toBeNull();
  });
  it('counts the batches a running job has finished', () => {
    expect(partialNote({ partial: true, batches_done: 3, batches_total: 12 }, 'running')).toBe(
      'Partial results: 3 of 12 batches done; more hits will appear.',
    );
    expect(partialNote({ partial: true, batches_done: 0, batches_total: 0 }, 'running')).toMatch(/not started/);
    expect(partialNote({ partial: true, batches_done: 12, batches_total: 12 }, 'running')).toMatch(/^All 12 batches done; the job is finishing/);
  });
  it('says where a job that ended early stopped', () => {
    expect(partialNote({ partial: true, batches_done: 2, batches_total: 5 }, 'cancelled')).toBe(
      'Partial results: the job was cancelled after 2 of 5 batches.',
    );
  });
});
