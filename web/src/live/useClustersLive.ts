// Every cluster, kept live: the server-sent `clusters` events of /api/clusters/stream (sent
// within a quarter second of a change: a lock taken or released, a pause, a job waiting) and,
// whenever the stream is not getting through, a poll of GET /api/clusters every second.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../api/endpoints';
import type { Cluster, ClusterList } from '../api/types';
import { STREAM_SILENCE_MS, streamRetryDelay } from './useJobLive';

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
    if (typeof EventSource === 'undefined') return undefined;
    let source: EventSource | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let silenceTimer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let closed = false;

    const onDead = () => {
      clearTimeout(silenceTimer);
      source?.close();
      source = null;
      if (closed) return;
      setStreaming(false); // polling takes over until the stream is back
      retryTimer = setTimeout(connect, streamRetryDelay(attempt));
      attempt += 1;
    };
    const heardFrom = () => {
      clearTimeout(silenceTimer);
      silenceTimer = setTimeout(onDead, STREAM_SILENCE_MS);
    };
    const connect = () => {
      if (closed) return;
      source = new EventSource(api.clustersStreamUrl());
      heardFrom();
      source.addEventListener('ping', heardFrom);
      source.addEventListener('clusters', (event) => {
        heardFrom();
        let payload: ClusterList;
        try {
          payload = JSON.parse((event as MessageEvent<string>).data) as ClusterList;
        } catch {
          return; // a garbled event: the next one (or a poll) brings the list
        }
        // A fetch still in flight started before this event: its answer would be older.
        void queryClient.cancelQueries({ queryKey: CLUSTERS_KEY, exact: true });
        queryClient.setQueryData(CLUSTERS_KEY, payload.items);
        attempt = 0;
        setStreaming(true);
      });
      source.onerror = onDead;
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      source?.close();
    };
  }, [queryClient]);

  return { clusters: query.data, error: query.error, receivedAt: query.dataUpdatedAt, streaming };
}
