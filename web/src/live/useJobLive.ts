// One job, kept live: Server-Sent Events when the stream works, polling whenever it doesn't.
import { useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { isTransient } from '../api/client';
import { api } from '../api/endpoints';
import type { Job } from '../api/types';
import { openLiveStream } from './liveStream';
import { isTerminalPhase, jobPollInterval } from './polling';

export { STREAM_RETRY_MS, STREAM_SILENCE_MS, streamRetryDelay } from './liveStream';

export function jobKey(id: string) {
  return ['job', id] as const;
}

/** Where a job is read from: its query key, one fetch, and its event stream if it has one. */
export interface JobFeed {
  key: readonly unknown[];
  fetch: () => Promise<Job>;
  /** null: no push stream (a share link's holder polls). */
  streamUrl: string | null;
}

/** The owner's view: GET /api/jobs/{id} and its stream. */
export function ownedJobFeed(id: string): JobFeed {
  return { key: jobKey(id), fetch: () => api.job(id), streamUrl: api.streamUrl(id) };
}

export interface JobLive {
  job: UseQueryResult<Job>;
  /** The stream delivered a job event and is still open: polling is off. */
  streaming: boolean;
  /** Neither the stream nor a fetch is getting through: show "Live updates paused". */
  paused: boolean;
}

export function useJobLive(feed: JobFeed): JobLive {
  const { key, streamUrl } = feed;
  const keyText = JSON.stringify(key);
  const queryClient = useQueryClient();
  const [streaming, setStreaming] = useState(false);

  const job = useQuery({
    queryKey: key,
    queryFn: feed.fetch,
    retry: false, // the interval is the retry, at the job's own cadence
    refetchInterval: (query) => jobPollInterval(query.state, streaming, isTransient),
  });

  const phase = job.data?.phase;
  // Don't stream a finished job, or one the server refused (404, 403).
  const stopped = isTerminalPhase(phase) || (!!job.error && !isTransient(job.error));

  useEffect(() => {
    if (stopped || streamUrl === null) {
      setStreaming(false);
      return undefined;
    }
    const refetch = () => void queryClient.invalidateQueries({ queryKey: key, exact: true });
    return openLiveStream<Job>({
      url: streamUrl,
      event: 'job',
      onData: (payload) => {
        queryClient.setQueryData(key, payload);
        return isTerminalPhase(payload.phase) || payload.poll_after_ms === null ? 'end' : 'open';
      },
      onStreaming: setStreaming,
      onDead: refetch,
      on: {
        // The job was deleted while watched: stop, and let a fetch find out (404 → not found).
        gone: (end) => {
          end();
          setStreaming(false);
          refetch();
        },
      },
    });
    // `key` is compared by its text: a feed made anew each render is the same feed.
  }, [keyText, streamUrl, stopped, queryClient]);

  const paused = !!job.error && isTransient(job.error);
  return { job, streaming, paused };
}
