import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { linkRefused, orderShares, shareBody, shareState } from './shares';

describe('shareBody', () => {
  it('sends no expiry for an empty box and days for a number', () => {
    expect(shareBody('')).toEqual({ body: {} });
    expect(shareBody('  ')).toEqual({ body: {} });
    expect(shareBody('30')).toEqual({ body: { expires_in_days: 30 } });
    expect(shareBody('3650')).toEqual({ body: { expires_in_days: 3650 } });
  });
  it('refuses what the server would refuse', () => {
    for (const bad of ['0', '3651', '-1', '1.5', 'soon', '1e3']) expect(shareBody(bad)).toHaveProperty('error');
  });
});

describe('shareState and orderShares', () => {
  const now = Date.parse('2026-12-01T00:00:00Z');
  const base = { created_at: '2026-11-01T00:00:00Z', revoked_at: null, expires_at: null, active: true };
  it('tells active, revoked and expired links apart', () => {
    expect(shareState(base, now)).toBe('active');
    expect(shareState({ ...base, revoked_at: '2026-11-02T00:00:00Z', active: false }, now)).toBe('revoked');
    expect(shareState({ ...base, expires_at: '2026-11-30T00:00:00Z', active: false }, now)).toBe('expired');
    // active when listed, expired since
    expect(shareState({ ...base, expires_at: '2026-11-30T23:59:59Z' }, now)).toBe('expired');
    expect(shareState({ ...base, expires_at: '2027-01-01T00:00:00Z' }, now)).toBe('active');
  });
  it('lists working links first, newest first within each', () => {
    const old = { ...base, id: 'old' };
    const recent = { ...base, id: 'recent', created_at: '2026-11-20T00:00:00Z' };
    const revoked = { ...base, id: 'revoked', created_at: '2026-11-25T00:00:00Z', revoked_at: '2026-11-26T00:00:00Z', active: false };
    expect(orderShares([old, revoked, recent], now).map((s) => s.id)).toEqual(['recent', 'old', 'revoked']);
  });
});

describe('linkRefused', () => {
  const error = (status: number, code: string) => new ApiError(status, { error_code: code as never, message: 'm', field: null });
  it('is the invalid-link page for what the server says of a bad link, and nothing else', () => {
    expect(linkRefused(error(404, 'share_not_found'))).toBe(true);
    expect(linkRefused(error(422, 'invalid_request'))).toBe(true);
    expect(linkRefused(error(429, 'rate_limited'))).toBe(false);
    expect(linkRefused(error(500, 'internal_error'))).toBe(false);
    expect(linkRefused(error(0, 'network_error'))).toBe(false);
    expect(linkRefused(new TypeError('fetch failed'))).toBe(false);
  });
});
