import { describe, expect, it } from 'vitest';
import type { Alignment } from '../api/types';
import { alignmentLines, formatAlignmentText, formatBits, fraction, strandOrFrame, wrapAlignment } from './alignment';

function hsp(p: Partial<Alignment>): Alignment {
  const qseq = p.qseq ?? 'ACGT';
  return {
    query_id: 'q1',
    subject_id: 's1',
    subject_title: 'subject one',
    slen: 1000,
    hsp_num: 1,
    bitscore: 50,
    score: 100,
    evalue: 1e-10,
    identity: 4,
    positive: 4,
    gaps: 0,
    align_len: qseq.length,
    qstart: 1,
    qend: qseq.length,
    sstart: 1,
    send: qseq.length,
    qseq,
    midline: p.midline ?? '|'.repeat(qseq.length),
    hseq: p.hseq ?? qseq,
    taxid: null,
    scientific_name: null,
    common_name: null,
    superkingdom: null,
    lineage: null,
    ...p,
  };
}

const ends = (rows: ReturnType<typeof wrapAlignment>) =>
  rows.map((r) => [r.query.start, r.query.end, r.subject.start, r.subject.end]);

describe('wrapAlignment', () => {
  it('wraps at 60 columns and numbers each line', () => {
    const seq = 'ACGT'.repeat(33).slice(0, 130);
    const rows = wrapAlignment(hsp({ qseq: seq, hseq: seq, qend: 130, sstart: 1001, send: 1130 }), 'blastn');
    expect(rows.map((r) => r.query.text.length)).toEqual([60, 60, 10]);
    expect(ends(rows)).toEqual([
      [1, 60, 1001, 1060],
      [61, 120, 1061, 1120],
      [121, 130, 1121, 1130],
    ]);
    expect(rows[2]!.midline).toBe('|'.repeat(10));
  });

  it('does not advance over gaps', () => {
    const rows = wrapAlignment(
      hsp({ qseq: 'ACG-TACGT', hseq: 'ACGGTACGT', midline: '||| |||||', qstart: 1, qend: 8, sstart: 1, send: 9 }),
      'blastn',
      4,
    );
    expect(ends(rows)).toEqual([
      [1, 3, 1, 4],
      [4, 7, 5, 8],
      [8, 8, 9, 9],
    ]);
  });

  it('prints an all-gap chunk as end = start - 1', () => {
    const rows = wrapAlignment(hsp({ qseq: 'AC--GT', hseq: 'ACTTGT', qend: 4, send: 6 }), 'blastn', 2);
    expect(rows[1]!.query).toEqual({ start: 3, text: '--', end: 2 });
    expect(rows[2]!.query).toEqual({ start: 3, text: 'GT', end: 4 });
  });

  it('counts a minus-strand subject down', () => {
    const rows = wrapAlignment(hsp({ qseq: 'ACGTACGTAC', qstart: 1, qend: 10, sstart: 100, send: 91, hit_frame: -1 }), 'blastn', 4);
    expect(ends(rows)).toEqual([
      [1, 4, 100, 97],
      [5, 8, 96, 93],
      [9, 10, 92, 91],
    ]);
  });

  it('counts a minus-strand subject with a gap down, skipping the gap', () => {
    const rows = wrapAlignment(hsp({ qseq: 'ACGTA', hseq: 'AC-TA', qstart: 1, qend: 5, sstart: 50, send: 47 }), 'blastn', 3);
    expect(ends(rows)).toEqual([
      [1, 3, 50, 49],
      [4, 5, 48, 47],
    ]);
  });

  it('spans 3 nt per query residue for blastx (plus frame)', () => {
    const rows = wrapAlignment(
      hsp({ qseq: 'MALWMRLLPL', hseq: 'MALWMRLLPL', qstart: 3, qend: 32, sstart: 1, send: 10, query_frame: 3 }),
      'blastx',
      4,
    );
    expect(ends(rows)).toEqual([
      [3, 14, 1, 4],
      [15, 26, 5, 8],
      [27, 32, 9, 10],
    ]);
  });

  it('counts a minus-frame blastx query down in codons, whichever way the ends are given', () => {
    const expected = [
      [32, 21, 1, 4],
      [20, 9, 5, 8],
      [8, 3, 9, 10],
    ];
    const base = { qseq: 'MALWMRLLPL', hseq: 'MALWMRLLPL', sstart: 1, send: 10, query_frame: -2 };
    expect(ends(wrapAlignment(hsp({ ...base, qstart: 32, qend: 3 }), 'blastx', 4))).toEqual(expected);
    expect(ends(wrapAlignment(hsp({ ...base, qstart: 3, qend: 32 }), 'blastx', 4))).toEqual(expected);
  });

  it('spans 3 nt per subject residue for tblastn, down on a minus frame', () => {
    const base = { qseq: 'MALWMR', hseq: 'MA-WMR', qstart: 1, qend: 6 };
    const plus = wrapAlignment(hsp({ ...base, sstart: 100, send: 114, hit_frame: 1 }), 'tblastn', 3);
    expect(ends(plus)).toEqual([
      [1, 3, 100, 105],
      [4, 6, 106, 114],
    ]);
    const minus = wrapAlignment(hsp({ ...base, sstart: 114, send: 100, hit_frame: -1 }), 'tblastn', 3);
    expect(ends(minus)).toEqual([
      [1, 3, 114, 109],
      [4, 6, 108, 100],
    ]);
  });

  it('translates both sides for tblastx', () => {
    const rows = wrapAlignment(
      hsp({ qseq: 'MALW', hseq: 'MALW', qstart: 1, qend: 12, sstart: 30, send: 19, query_frame: 1, hit_frame: -3 }),
      'tblastx',
      2,
    );
    expect(ends(rows)).toEqual([
      [1, 6, 30, 25],
      [7, 12, 24, 19],
    ]);
  });

  it('does not treat a blastp alignment as translated', () => {
    const rows = wrapAlignment(hsp({ qseq: 'MALW', qstart: 5, qend: 8, sstart: 10, send: 13 }), 'blastp');
    expect(ends(rows)).toEqual([[5, 8, 10, 13]]);
  });
});

describe('alignmentLines', () => {
  it('lines up the sequences and the midline', () => {
    const text = formatAlignmentText(
      hsp({ qseq: 'ACGTAC', hseq: 'ACCTAC', midline: '|| |||', qstart: 8, qend: 13, sstart: 120, send: 115 }),
      'blastn',
      3,
    );
    expect(text).toBe(
      [
        'Query  8    ACG  10',
        '            || ',
        'Sbjct  120  ACC  118',
        '',
        'Query  11   TAC  13',
        '            |||',
        'Sbjct  117  TAC  115',
      ].join('\n'),
    );
  });

  it('returns no lines for an empty alignment', () => {
    expect(alignmentLines([])).toEqual([]);
  });
});

describe('header helpers', () => {
  it('prints bit scores like BLAST', () => {
    expect(formatBits(518.182)).toBe('518');
    expect(formatBits(23.8682)).toBe('23.9');
    expect(formatBits(99.96)).toBe('100');
  });
  it('formats identities like BLAST', () => {
    expect(fraction(95, 100)).toBe('95/100 (95%)');
    expect(fraction(2, 3)).toBe('2/3 (67%)');
    expect(fraction(0, 0)).toBe('0/0 (0%)');
  });
  it('names strands for blastn and frames for translated searches', () => {
    expect(strandOrFrame(hsp({ sstart: 10, send: 1 }), 'blastn')).toBe('Strand=Plus/Minus');
    expect(strandOrFrame(hsp({ query_strand: 'Plus', hit_strand: 'Plus' }), 'blastn')).toBe('Strand=Plus/Plus');
    expect(strandOrFrame(hsp({ query_frame: 2 }), 'blastx')).toBe('Frame=+2');
    expect(strandOrFrame(hsp({ hit_frame: -1 }), 'tblastn')).toBe('Frame=-1');
    expect(strandOrFrame(hsp({ query_frame: 1, hit_frame: -3 }), 'tblastx')).toBe('Frame=+1/-3');
    expect(strandOrFrame(hsp({}), 'blastp')).toBeNull();
  });
});
