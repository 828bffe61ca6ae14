import { describe, expect, it } from 'vitest';
import { formatDuration, formatEvalue, jobDurationMs, plural, shortId } from './text';

describe('text formatters', () => {
  it('formats durations', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(7_380_000)).toBe('2 h 03 min');
  });
  it('formats e-values like BLAST', () => {
    expect(formatEvalue(0)).toBe('0.0');
    expect(formatEvalue(1.02e-81)).toBe('1.0e-81');
    expect(formatEvalue(2.3)).toBe('2.3');
    expect(formatEvalue(0.0123)).toBe('0.0123');
  });
  it('shortens ids and measures jobs', () => {
    expect(shortId('968aa1c8-7afe-49be')).toBe('968aa1c8');
    expect(jobDurationMs({ created_at: '2026-01-01T00:00:00Z', finished_at: '2026-01-01T00:00:02Z' }, 0)).toBe(2000);
  });
  it("puts a count's noun in the right number", () => {
    expect(plural(1, 'sequence')).toBe('1 sequence');
    expect(plural(0, 'sequence')).toBe('0 sequences');
    expect(plural(22310, 'hit')).toBe('22,310 hits');
    expect(plural(1, 'query', 'queries')).toBe('1 query');
    expect(plural(50, 'query', 'queries')).toBe('50 queries');
    expect(plural(2, 'HSP')).toBe('2 HSPs');
  });
});
