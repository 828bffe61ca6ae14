// Every cluster, kept live: the server-sent `clusters` events of /api/clusters/stream (sent
// within a quarter second of a change: a lock taken or released, a pause, a job waiting) and,
// whenever the stream is not getting through, a poll of GET /api/clusters every second.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../api/endpoints';
import type { Cluster, ClusterList } from '../api/types';
import { openLiveStream } from './liveStream';

export const CLUSTERS_KEY = ['clusters'] as const;
export const CLUSTERS_POLL_MS = 1000;

export interface ClustersLive {
  clusters: Cluster[] | undefined;
  error: unknown;
  /** When the data shown arrived (TTL and wait clocks tick on from it). */
  receivedAt: number;
  streaming: boolean;
}

export function useClustersLive(): ClustersLive {
  const queryClient = useQueryClient();
  const [streaming, setStreaming] = useState(false);
  const query = useQuery({
    queryKey: CLUSTERS_KEY,
    queryFn: api.clusters,
    refetchInterval: streaming ? false : CLUSTERS_POLL_MS,
  });

  useEffect(() => {
    return openLiveStream<ClusterList>({
      url: api.clustersStreamUrl(),
      event: 'clusters',
      onData: (payload) => {
        // A fetch still in flight started before this event: its answer would be older.
        void queryClient.cancelQueries({ queryKey: CLUSTERS_KEY, exact: true });
        queryClient.setQueryData(CLUSTERS_KEY, payload.items);
        return 'open';
      },
      onStreaming: setStreaming, // false: polling takes over until the stream is back
    });
  }, [queryClient]);

  return { clusters: query.data, error: query.error, receivedAt: query.dataUpdatedAt, streaming };
}
