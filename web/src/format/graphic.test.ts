import { describe, expect, it } from 'vitest';
import type { Hsp } from '../api/types';
import { SCORE_BANDS, rulerTicks, scoreBand, subjectRows } from './graphic';

function hit(subject: string, bits: number, qstart: number, qend: number): Hsp {
  return {
    query_index: 0, query_id: 'q', subject_id: subject, subject_title: `${subject} title`, pident: 90, length: 10, mismatch: 0, gapopen: 0,
    qstart, qend, sstart: 1, send: 10, evalue: 1e-5, bitscore: bits, qlen: 500, slen: 1000, qcovhsp: 50, qcovs: 60, staxid: 0,
    taxid: null, scientific_name: null, common_name: null, superkingdom: null, lineage: null,
  };
}

describe('scoreBand', () => {
  it('uses the NCBI bands', () => {
    expect([10, 39.9, 40, 49, 50, 79, 80, 199, 200, 1000].map(scoreBand)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(SCORE_BANDS).toHaveLength(5);
  });
});

describe('subjectRows', () => {
  it('puts HSPs of one subject on one row, best first, and caps the rows', () => {
    const rows = subjectRows([hit('a', 300, 1, 100), hit('b', 90, 10, 50), hit('a', 45, 300, 200), hit('c', 20, 1, 5)], 2);
    expect(rows.map((r) => r.subjectId)).toEqual(['a', 'b']);
    expect(rows[0]!.segments.map((s) => [s.from, s.to])).toEqual([
      [1, 100],
      [200, 300],
    ]);
  });
});

describe('rulerTicks', () => {
  it('starts at 1, ends at the length, with round steps', () => {
    expect(rulerTicks(500)).toEqual([1, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500]);
    expect(rulerTicks(110, 5)).toEqual([1, 50, 110]); // 100 would crowd 110
    expect(rulerTicks(0)).toEqual([]);
    expect(rulerTicks(280)).toEqual([1, 50, 100, 150, 200, 250, 280]);
    expect(rulerTicks(7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(rulerTicks(1)).toEqual([1]);
  });
});
