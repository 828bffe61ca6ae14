// What the Hits tab says about a table read while the job runs. Pure.
import type { HitPage, JobStatus } from '../api/types';
import { formatCount } from '../format/text';

type PageProgress = Pick<HitPage, 'partial' | 'batches_done' | 'batches_total'>;

/**
 * Null for a complete table. While the job runs: how many of its BLAST batches the table holds
 * ("3 of 12 batches done; more hits will appear"); for a job that ended without completing,
 * that the table holds what its finished batches found.
 */
export function partialNote(page: PageProgress, status: JobStatus): string | null {
  if (!page.partial) return null;
  const done = formatCount(page.batches_done);
  const total = formatCount(page.batches_total);
  if (status === 'queued' || status === 'running') {
    if (page.batches_total === 0) return 'Partial results: BLAST has not started yet; hits will appear as its batches finish.';
    if (page.batches_done < page.batches_total) {
      return `Partial results: ${done} of ${total} batches done; more hits will appear.`;
    }
    return `All ${total} batches done; the job is finishing, the table is complete once it has.`;
  }
  const ended = status === 'cancelled' ? 'was cancelled' : status;
  return `Partial results: the job ${ended} after ${done} of ${total} batches.`;
}
