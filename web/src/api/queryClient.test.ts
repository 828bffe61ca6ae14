// A change made while a list's first read is in flight shows once the page reads it again.
import { QueryObserver } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { createQueryClient, refetchAfterChange } from './queryClient';

/** A server whose first answer left before the change was made (a slow first read). */
function server() {
  const stored = ['old'];
  let reads = 0;
  let releaseFirst: () => void = () => {};
  const firstAnswered = new Promise<void>((resolve) => (releaseFirst = resolve));
  const read = async (): Promise<string[]> => {
    reads += 1;
    const answer = [...stored]; // what the server had when the request reached it
    if (reads === 1) await firstAnswered;
    return answer;
  };
  return { stored, read, releaseFirst, reads: () => reads };
}

type Observed = { getCurrentResult(): { fetchStatus: string; data: string[] | undefined } };

async function settle(observer: Observed): Promise<string[] | undefined> {
  for (let i = 0; i < 50 && observer.getCurrentResult().fetchStatus !== 'idle'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return observer.getCurrentResult().data;
}

describe('refetchAfterChange', () => {
  it('reads again when the first read was answered before the change', async () => {
    const client = createQueryClient();
    const api = server();
    const observer = new QueryObserver(client, { queryKey: ['shares'], queryFn: api.read });
    const stop = observer.subscribe(() => {});
    api.stored.push('new'); // the change, made while the first read is in flight
    const refreshed = refetchAfterChange(client, ['shares']);
    api.releaseFirst();
    await refreshed;
    expect(await settle(observer)).toEqual(['old', 'new']);
    expect(api.reads()).toBe(2);
    stop();
  });

  it('is what a plain invalidate misses (the race it closes)', async () => {
    const client = createQueryClient();
    const api = server();
    const observer = new QueryObserver(client, { queryKey: ['shares'], queryFn: api.read });
    const stop = observer.subscribe(() => {});
    api.stored.push('new');
    const invalidated = client.invalidateQueries({ queryKey: ['shares'] });
    api.releaseFirst();
    await invalidated;
    expect(await settle(observer)).toEqual(['old']); // joined the first read: no second one
    expect(api.reads()).toBe(1);
    stop();
  });
});
