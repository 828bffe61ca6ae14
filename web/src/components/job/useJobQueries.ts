// The job's queries that have hits, for the query pickers of the result tabs.
import { useQuery } from '@tanstack/react-query';
import { isNotFound } from '../../api/client';
import { api } from '../../api/endpoints';
import type { QuerySummary } from '../../api/types';

async function loadQueries(jobId: string): Promise<QuerySummary[]> {
  try {
    return await api.queries(jobId);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  // Older server without /queries: gather them from the first page of hits.
  const page = await api.hits(jobId, { sort: 'evalue', limit: 1000, offset: 0 });
  const seen = new Map<string, QuerySummary>();
  for (const hit of page.items) {
    const q = seen.get(hit.query_id) ?? { query_id: hit.query_id, qlen: hit.qlen, hits: 0 };
    q.hits += 1;
    seen.set(hit.query_id, q);
  }
  return [...seen.values()];
}

export function useJobQueries(jobId: string) {
  return useQuery({ queryKey: ['queries', jobId], queryFn: () => loadQueries(jobId), staleTime: Infinity });
}
