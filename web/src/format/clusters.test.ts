import { describe, expect, it } from 'vitest';
import { formFieldOf, ttlLeftMs, waitedMs } from './clusters';

describe('the Clusters page', () => {
  it('puts each server error next to the field it names', () => {
    expect(formFieldOf('name')).toBe('name');
    expect(formFieldOf('engine')).toBe('engine');
    expect(formFieldOf('slots')).toBe('slots');
    expect(formFieldOf('settings.batch_letters')).toBe('settings.batch_letters');
    expect(formFieldOf('settings')).toBe('settings');
    expect(formFieldOf(null)).toBe('form');
    expect(formFieldOf('body')).toBe('form');
  });

  it('ticks lock TTLs down and waits up from when the data arrived', () => {
    expect(ttlLeftMs(5000, 1000, 3000)).toBe(3000);
    expect(ttlLeftMs(5000, 1000, 9000)).toBe(0);
    expect(ttlLeftMs(null, 1000, 3000)).toBeNull();
    expect(waitedMs(1500, 1000, 3000)).toBe(3500);
    expect(waitedMs(null, 1000, 3000)).toBeNull();
  });
});
