// TanStack Query defaults: quiet retries for transient failures only, and never throw a page away.
import { QueryClient } from '@tanstack/react-query';
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
