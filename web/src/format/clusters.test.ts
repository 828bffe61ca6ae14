import { describe, expect, it } from 'vitest';
import { editedSettings, formFieldOf, HIDDEN_SETTING, ttlLeftMs, waitedMs } from './clusters';

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

describe('editedSettings', () => {
  const known = ['namespaces', 'partition', 'api_token'];
  it('sends only changed settings, null for a cleared one', () => {
    const stored = { namespaces: 'a,b', partition: 'short' };
    expect(editedSettings(stored, { namespaces: 'a,b', partition: '' }, known)).toEqual({ partition: null });
    expect(editedSettings(stored, { namespaces: 'a,c', partition: 'short' }, known)).toEqual({ namespaces: 'a,c' });
    expect(editedSettings({}, { partition: ' long ' }, known)).toEqual({ partition: 'long' });
  });
  it('keeps a hidden secret unless a new value is typed', () => {
    const stored = { api_token: HIDDEN_SETTING };
    expect(editedSettings(stored, { api_token: '' }, known)).toEqual({});
    expect(editedSettings(stored, { api_token: 'new' }, known)).toEqual({ api_token: 'new' });
  });
  it('ignores settings the engine does not have', () => {
    expect(editedSettings({}, { other: 'x' }, known)).toEqual({});
  });
});
