// Server-sent events with a polling fallback, the one shape every live view shares (a job's
// page, the Clusters page): open the stream, hand each data event over, and whenever the
// stream stops getting through (an error, or silence past the server's pings) say so, so the
// caller's polling takes over, and reconnect with back-off. No React here: the hooks wrap it.

/** Back-off between stream reconnects: 1 s, 2 s, then every 5 s. */
export const STREAM_RETRY_MS = [1000, 2000, 5000] as const;

/** The server pings a quiet stream every 15 s; this long without any event means it died
 * without closing (a proxy or a suspended laptop), so fall back to polling and reconnect. */
export const STREAM_SILENCE_MS = 35_000;

export function streamRetryDelay(attempt: number): number {
  return STREAM_RETRY_MS[Math.min(attempt, STREAM_RETRY_MS.length - 1)]!;
}

export interface LiveStream<T> {
  url: string;
  /** The name of the events that carry data (`job`, `clusters`). */
  event: string;
  /** One data event, parsed; answer 'end' when it is the last (the stream is closed and not
   * reopened), else 'open'. A garbled event is skipped: the next one (or a poll) follows. */
  onData: (payload: T) => 'open' | 'end';
  /** true once data arrives over an open stream; false when it ends or stops getting through. */
  onStreaming: (streaming: boolean) => void;
  /** The stream stopped getting through (before the reconnect is scheduled). */
  onDead?: () => void;
  /** Other named events: each may end the stream for good with `end()`. */
  on?: Record<string, (end: () => void) => void>;
}

/** Opens the stream; the function returned closes it for good. */
export function openLiveStream<T>(stream: LiveStream<T>): () => void {
  if (typeof EventSource === 'undefined') return () => undefined;
  let source: EventSource | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let silenceTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let closed = false;

  const end = () => {
    closed = true;
    clearTimeout(retryTimer);
    clearTimeout(silenceTimer);
    source?.close();
  };
  const onDead = () => {
    // Take over reconnecting ourselves so polling can run in between.
    clearTimeout(silenceTimer);
    source?.close();
    source = null;
    if (closed) return;
    stream.onStreaming(false);
    stream.onDead?.();
    retryTimer = setTimeout(connect, streamRetryDelay(attempt));
    attempt += 1;
  };
  const heardFrom = () => {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(onDead, STREAM_SILENCE_MS);
  };
  const connect = () => {
    if (closed) return;
    source = new EventSource(stream.url);
    heardFrom();
    source.addEventListener('ping', heardFrom);
    source.addEventListener(stream.event, (event) => {
      heardFrom();
      let payload: T;
      try {
        payload = JSON.parse((event as MessageEvent<string>).data) as T;
      } catch {
        return;
      }
      attempt = 0;
      if (stream.onData(payload) === 'end') {
        end(); // the server closes after its last event: keep the browser from reconnecting
        stream.onStreaming(false);
      } else {
        stream.onStreaming(true);
      }
    });
    for (const [name, handler] of Object.entries(stream.on ?? {})) {
      source.addEventListener(name, () => handler(end));
    }
    source.onerror = onDead;
  };
  connect();
  return end;
}
