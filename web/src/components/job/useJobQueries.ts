// Every query of the job, for the query pickers of the result tabs. While the job runs the list
// grows with its finished batches, so it is read again as batches finish; once completed it is
// final.
import { useQuery } from '@tanstack/react-query';
import { useJobResults } from './JobResultsContext';
import type { Job } from '../../api/types';

/** What the job's result tables hold: a new value whenever they may have grown. */
export function resultsVersion(job: Pick<Job, 'status' | 'progress'>): string {
  return job.status === 'completed' ? 'completed' : `batches-${job.progress.batches_done}`;
}

export function useJobQueries(job: Pick<Job, 'id' | 'status' | 'progress'>) {
  const version = resultsVersion(job);
  const { results } = useJobResults();
  return useQuery({
    queryKey: ['queries', results.base, version],
    queryFn: () => results.queries(),
    staleTime: Infinity,
    placeholderData: (previous) => previous,
  });
}
