// One job, kept live: Server-Sent Events when the stream works, polling whenever it doesn't.
import { useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { isTransient } from '../api/client';
import { api } from '../api/endpoints';
import type { Job } from '../api/types';
import { isTerminalPhase, jobPollInterval } from './polling';

/** Back-off between stream reconnects: 1 s, 2 s, then every 5 s. */
export const STREAM_RETRY_MS = [1000, 2000, 5000] as const;

/** The server pings a quiet stream every 15 s; this long without any event means it died
 * without closing (a proxy or a suspended laptop), so fall back to polling and reconnect. */
export const STREAM_SILENCE_MS = 35_000;

export function streamRetryDelay(attempt: number): number {
  return STREAM_RETRY_MS[Math.min(attempt, STREAM_RETRY_MS.length - 1)]!;
}

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
    if (stopped || streamUrl === null || typeof EventSource === 'undefined') {
      setStreaming(false);
      return undefined;
    }
    let source: EventSource | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let silenceTimer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let closed = false;

    const onDead = () => {
      // Take over reconnecting ourselves so polling can run in between.
      clearTimeout(silenceTimer);
      source?.close();
      source = null;
      if (closed) return;
      setStreaming(false);
      void queryClient.invalidateQueries({ queryKey: key, exact: true });
      retryTimer = setTimeout(connect, streamRetryDelay(attempt));
      attempt += 1;
    };
    const heardFrom = () => {
      clearTimeout(silenceTimer);
      silenceTimer = setTimeout(onDead, STREAM_SILENCE_MS);
    };

    const connect = () => {
      if (closed) return;
      source = new EventSource(streamUrl);
      heardFrom();
      source.addEventListener('ping', heardFrom);
      source.addEventListener('job', (event) => {
        heardFrom();
        let payload: Job;
        try {
          payload = JSON.parse((event as MessageEvent<string>).data) as Job;
        } catch {
          return; // a garbled event: the next one (or a poll) brings the job
        }
        queryClient.setQueryData(key, payload);
        attempt = 0;
        if (isTerminalPhase(payload.phase) || payload.poll_after_ms === null) {
          // The server closes after the terminal event; keep the browser from reconnecting.
          closed = true;
          clearTimeout(silenceTimer);
          source?.close();
          setStreaming(false);
        } else {
          setStreaming(true);
        }
      });
      // The job was deleted while watched: stop, and let a fetch find out (404 → not found).
      source.addEventListener('gone', () => {
        closed = true;
        clearTimeout(silenceTimer);
        source?.close();
        setStreaming(false);
        void queryClient.invalidateQueries({ queryKey: key, exact: true });
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
    // `key` is compared by its text: a feed made anew each render is the same feed.
  }, [keyText, streamUrl, stopped, queryClient]);

  const paused = !!job.error && isTransient(job.error);
  return { job, streaming, paused };
}
