import { describe, expect, it } from 'vitest';
import { pagerText } from './Pager';

describe('pagerText', () => {
  it('says what it counts, in the right number', () => {
    expect(pagerText(0, 50, 22310, ['hit', 'hits'])).toBe('1–50 of 22,310 hits');
    expect(pagerText(0, 1, 1, ['hit', 'hits'])).toBe('1–1 of 1 hit');
    expect(pagerText(20, 15, 35, ['HSP', 'HSPs'])).toBe('21–35 of 35 HSPs');
    expect(pagerText(0, 0, 0, ['hit', 'hits'])).toBe('0 of 0 hits');
    expect(pagerText(25, 25, 80)).toBe('26–50 of 80');
  });
});
