import { describe, expect, it } from 'vitest';
import type { QuerySummary } from '../api/types';
import { firstQueryIndex, lengthUnit, queryLabel, queryName } from './queries';

const q = (query_index: number, query_id: string, qlen: number | null, hits: number): QuerySummary => ({
  query_index,
  query_id,
  qlen,
  hits,
  hsps: hits * 2,
});

describe('query labels', () => {
  it('names a query by its place, so equal ids stay apart', () => {
    expect(queryName(q(2, 'same', 1506, 12))).toBe('#3 same');
    expect(queryLabel(q(2, 'same', 1506, 12), 'bp')).toBe('#3 same — 1,506 bp, 12 hits');
    expect(queryLabel(q(3, 'same', 900, 1), 'bp')).toBe('#4 same — 900 bp, 1 hit');
    expect(queryLabel(q(0, 'p1', 320, 5), 'aa')).toBe('#1 p1 — 320 aa, 5 hits');
  });
  it('says a query without hits has none (its length is not known then)', () => {
    expect(queryLabel(q(4, 'nothing', null, 0), 'bp')).toBe('#5 nothing — no hits');
  });
  it('measures nucleotide queries in bp and protein queries in aa', () => {
    expect(lengthUnit('blastn')).toBe('bp');
    expect(lengthUnit('blastx')).toBe('bp');
    expect(lengthUnit('blastp')).toBe('aa');
    expect(lengthUnit('tblastn')).toBe('aa');
  });
  it('opens on the first query with hits', () => {
    expect(firstQueryIndex([q(0, 'a', null, 0), q(1, 'b', 10, 3)])).toBe(1);
    expect(firstQueryIndex([q(0, 'a', null, 0)])).toBe(0);
    expect(firstQueryIndex([])).toBeNull();
    expect(firstQueryIndex(undefined)).toBeNull();
  });
});
