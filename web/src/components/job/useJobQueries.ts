// The job's queries that have hits, for the query pickers of the result tabs.
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/endpoints';

export function useJobQueries(jobId: string) {
  return useQuery({ queryKey: ['queries', jobId], queryFn: () => api.queries(jobId), staleTime: Infinity });
}
