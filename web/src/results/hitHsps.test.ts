import { describe, expect, it } from 'vitest';
import type { Hsp, HspPage } from '../api/types';
import { gatherHitHsps, rankHsps } from './hitHsps';

function hsp(subject: string, evalue: number, bitscore: number, qstart = 1): Hsp {
  return {
    query_index: 0, query_id: 'q', subject_id: subject, subject_title: `${subject} title`, pident: 99, length: 50, mismatch: 0,
    gapopen: 0, qstart, qend: qstart + 49, sstart: 1, send: 50, evalue, bitscore, qlen: 500, slen: 900, qcovhsp: 10, qcovs: 20, staxid: 0,
    taxid: null, scientific_name: null, common_name: null, superkingdom: null, lineage: null,
  };
}

/** A server holding `rows` (already sorted by subject), counting its requests. */
function server(rows: Hsp[]) {
  const calls: Array<[number, number]> = [];
  const fetchPage = async (offset: number, limit: number): Promise<HspPage> => {
    calls.push([offset, limit]);
    return { items: rows.slice(offset, offset + limit), total: rows.length, limit, offset, partial: false, batches_done: 1, batches_total: 1 };
  };
  return { calls, fetchPage };
}

describe('gatherHitHsps', () => {
  const rows = [hsp('a', 1e-5, 40), hsp('b', 1e-3, 30, 200), hsp('b', 1e-50, 200), hsp('b', 1e-9, 60), hsp('c', 1, 10), hsp('d', 1, 10)];

  it("collects one subject's HSPs in BLAST's order", async () => {
    const { fetchPage } = server(rows);
    const found = await gatherHitHsps(fetchPage, 'b', 3);
    expect(found.map((h) => h.bitscore)).toEqual([200, 60, 30]);
  });

  it('pages on until it has the HSP count of the hit, and no further', async () => {
    const { fetchPage, calls } = server(rows);
    const found = await gatherHitHsps(fetchPage, 'b', 3, 2);
    expect(found).toHaveLength(3);
    expect(calls).toEqual([
      [0, 2],
      [2, 2],
    ]);
  });

  it('stops at the end when the subject is missing or has fewer HSPs than said', async () => {
    const { fetchPage, calls } = server(rows);
    expect(await gatherHitHsps(fetchPage, 'zz', 1, 4)).toEqual([]);
    expect(calls).toEqual([
      [0, 4],
      [4, 4],
    ]);
    expect(await gatherHitHsps(server(rows).fetchPage, 'd', 5, 4)).toHaveLength(1);
  });

  it('ranks equal e-values by bit score, then query position', () => {
    const ranked = rankHsps([hsp('a', 0, 50, 300), hsp('a', 0, 80, 400), hsp('a', 0, 50, 100)]);
    expect(ranked.map((h) => h.qstart)).toEqual([400, 100, 300]);
  });
});
