import { describe, expect, it } from 'vitest';
import { makeJob } from '../../testing/jobFixture';
import { resultsVersion } from './useJobQueries';

describe('resultsVersion', () => {
  it('changes with every finished batch while the job runs, and is final once it completed', () => {
    const a = resultsVersion(makeJob({ progress: { batches_done: 2, batches_total: 9 } }));
    const b = resultsVersion(makeJob({ progress: { batches_done: 3, batches_total: 9 } }));
    expect(a).not.toBe(b);
    expect(resultsVersion(makeJob({ status: 'completed', phase: 'completed', progress: { batches_done: 9, batches_total: 9 } }))).toBe('completed');
  });
});
