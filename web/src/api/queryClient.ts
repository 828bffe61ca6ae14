// TanStack Query defaults: quiet retries for transient failures only, and never throw a page away.
import { QueryClient, type QueryKey } from '@tanstack/react-query';
import { isTransient } from './client';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A 4xx will answer the same again; a network error or 5xx may not.
        retry: (failureCount, error) => isTransient(error) && failureCount < 2,
        retryDelay: (attempt) => Math.min(1000 * 2 ** attempt, 5000),
        refetchOnWindowFocus: false,
        throwOnError: false,
        staleTime: 0,
      },
      mutations: { retry: false },
    },
  });
}

/**
 * Read a query again after a change the page made on the server (a user added, a job deleted):
 * a fetch still in flight is cancelled first. TanStack's invalidate does not start a new fetch
 * while a query's first one (no data yet) is in flight: it joins it, and that one may have been
 * answered before the change, so the change would not show until the next read.
 */
export async function refetchAfterChange(client: QueryClient, queryKey: QueryKey): Promise<void> {
  await client.cancelQueries({ queryKey });
  await client.invalidateQueries({ queryKey });
}
