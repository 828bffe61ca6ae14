import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openLiveStream, STREAM_SILENCE_MS } from './liveStream';

// A stand-in for the browser's EventSource: the tests play the server's part.
class FakeSource {
  static all: FakeSource[] = [];
  listeners: Record<string, ((event: { data: string }) => void)[]> = {};
  onerror: (() => void) | null = null;
  closed = false;
  constructor(public url: string) {
    FakeSource.all.push(this);
  }
  addEventListener(name: string, fn: (event: { data: string }) => void) {
    (this.listeners[name] ??= []).push(fn);
  }
  emit(name: string, data = '{}') {
    for (const fn of this.listeners[name] ?? []) fn({ data });
  }
  close() {
    this.closed = true;
  }
}

describe('openLiveStream', () => {
  beforeEach(() => {
    FakeSource.all = [];
    vi.useFakeTimers();
    vi.stubGlobal('EventSource', FakeSource);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('streams data, falls back when the stream dies or goes silent, and reconnects', () => {
    const seen: number[] = [];
    const streaming: boolean[] = [];
    const dead = vi.fn();
    const close = openLiveStream<{ n: number }>({
      url: '/s',
      event: 'x',
      onData: (p) => (seen.push(p.n), 'open'),
      onStreaming: (on) => streaming.push(on),
      onDead: dead,
    });
    const first = FakeSource.all[0]!;
    first.emit('x', '{"n": 1}');
    first.emit('x', 'not json'); // skipped
    first.onerror?.();
    expect([seen, streaming, dead.mock.calls.length, first.closed]).toEqual([[1], [true, false], 1, true]);
    vi.advanceTimersByTime(1000); // the first retry
    const second = FakeSource.all[1]!;
    second.emit('x', '{"n": 2}');
    vi.advanceTimersByTime(STREAM_SILENCE_MS); // no event, no ping: taken for dead
    expect(second.closed && dead.mock.calls.length === 2).toBe(true);
    close();
    vi.advanceTimersByTime(10_000);
    expect(FakeSource.all).toHaveLength(2); // closed for good: no reconnect
    expect(seen).toEqual([1, 2]);
  });

  it("ends for good on an 'end' answer or a handler's end()", () => {
    openLiveStream<{ last: boolean }>({
      url: '/s',
      event: 'x',
      onData: (p) => (p.last ? 'end' : 'open'),
      onStreaming: () => undefined,
    });
    FakeSource.all[0]!.emit('x', '{"last": true}');
    expect(FakeSource.all[0]!.closed).toBe(true);
    const gone = vi.fn((end: () => void) => end());
    openLiveStream({ url: '/t', event: 'x', onData: () => 'open', onStreaming: () => undefined, on: { gone } });
    FakeSource.all[1]!.emit('gone');
    vi.advanceTimersByTime(60_000);
    expect([gone.mock.calls.length, FakeSource.all[1]!.closed, FakeSource.all.length]).toEqual([1, true, 2]);
  });
});
