import { describe, expect, it } from 'vitest';
import { dayLabel, formatHours, formatQuantiles, periodStart, utcToday } from './usage';

describe('usage period', () => {
  it('counts both ends: 30 days ending on a date start 29 days before it', () => {
    expect(periodStart('2026-12-01', 30)).toBe('2026-11-02');
    expect(periodStart('2026-03-01', 1)).toBe('2026-03-01');
    expect(periodStart('2024-03-01', 2)).toBe('2024-02-29');
  });
  it('takes today in UTC, not the local date', () => {
    expect(utcToday(Date.parse('2026-12-01T23:30:00-05:00'))).toBe('2026-12-02');
  });
  it('leaves a date it cannot read alone', () => {
    expect(periodStart('not a date', 7)).toBe('not a date');
  });
});

describe('usage figures', () => {
  it('prints CPU-hours readably', () => {
    expect(formatHours(0)).toBe('0');
    expect(formatHours(0.000123)).toBe('0.00012');
    expect(formatHours(12.345)).toBe('12.35');
    expect(formatHours(1204.4)).toBe('1,204');
  });
  it('prints median / p95, or a dash without figures', () => {
    expect(formatQuantiles({ count: 3, median_s: 1.2, p95_s: 75 })).toBe('1.2 s / 1 min 15 s');
    expect(formatQuantiles(null)).toBe('—');
  });
  it('labels days in UTC', () => {
    expect(dayLabel('2026-11-03')).toBe('Nov 3');
  });
});
