import { describe, expect, it } from 'vitest';
import { RANKS, hitsOfTaxon, lineageText, nodeName, organismName, parseTaxid, taxonomySummary, withoutTaxon } from './taxonomy';

const ref = (taxid: number, name: string) => ({ taxid, name });

describe('parseTaxid', () => {
  it('takes what the API takes: a positive 32-bit integer', () => {
    expect(['562', '1', '2147483647'].map(parseTaxid)).toEqual([562, 1, 2147483647]);
    expect(['', '0', '-5', '2147483648', '12a', 'txid562', ' 562', '1e3'].map(parseTaxid)).toEqual(Array(8).fill(null));
    expect(parseTaxid(null)).toBeNull();
  });
});

describe('the taxon filter in the URL', () => {
  it('opens the hits of a taxon, keeping the other params, and clears it', () => {
    const start = new URLSearchParams('tab=taxonomy&x=1');
    const open = hitsOfTaxon(start, 543, 'Enterobacteriaceae');
    expect(open.toString()).toBe('tab=hits&x=1&taxid=543&taxon=Enterobacteriaceae');
    expect(start.toString()).toBe('tab=taxonomy&x=1'); // not changed in place
    expect(hitsOfTaxon(open, 2, null).toString()).toBe('tab=hits&x=1&taxid=2');
    expect(withoutTaxon(open).toString()).toBe('tab=hits&x=1');
  });
});

describe('names', () => {
  it('names an organism, or says why it has none', () => {
    expect(organismName({ scientific_name: 'Escherichia coli', staxid: 562 })).toBe('Escherichia coli');
    expect(organismName({ scientific_name: null, staxid: 0 })).toBe('no taxid');
    expect(organismName({ scientific_name: null, staxid: 99999999 })).toBe('unknown taxid 99999999');
    expect(nodeName({ name: null, taxid: 0 })).toBe('no taxid');
    expect(nodeName({ name: 'Bacteria', taxid: 2 })).toBe('Bacteria');
  });

  it('writes a lineage top down, skipping ranks it lacks', () => {
    const lineage = {
      superkingdom: ref(2, 'Bacteria'),
      phylum: ref(1224, 'Pseudomonadota'),
      class: null,
      order: null,
      family: null,
      genus: ref(561, 'Escherichia'),
      species: ref(562, 'Escherichia coli'),
    };
    expect(lineageText({ lineage })).toBe('Bacteria › Pseudomonadota › Escherichia › Escherichia coli');
    expect(lineageText({ lineage: null })).toBe('');
    expect(RANKS[0]).toBe('superkingdom');
    expect(RANKS).toHaveLength(7);
  });
});

describe('taxonomySummary', () => {
  const organism = (taxid: number, hits: number) => ({ taxid, hits });
  const all = 'all queries';
  it('counts organisms, not the row of subjects without a taxid', () => {
    const report = { hits: 1200, subjects: 40, organisms: [organism(562, 900), organism(0, 300)] };
    expect(taxonomySummary(report, null, all)).toBe(
      '1,200 hits on 40 subjects (all queries), 1 organism (and 300 hits without a taxid). Click an organism for its hits.',
    );
    expect(taxonomySummary({ ...report, organisms: [organism(561, 1200)] }, 'genus', 'query q1')).toBe(
      '1,200 hits on 40 subjects (query q1), 1 genus. Click a genus for its hits.',
    );
    const two = { ...report, organisms: [organism(561, 1000), organism(570, 200)] };
    const counts = RANKS.map((rank) => taxonomySummary(two, rank, all).split(', ')[1]?.split('.')[0]);
    expect(counts).toEqual(['2 superkingdoms', '2 phyla', '2 classes', '2 orders', '2 families', '2 genera', '2 species']);
    expect(taxonomySummary(two, 'order', all)).toMatch(/Click an order for its hits\.$/);
  });
  it('says why there are no organisms on a database without taxids', () => {
    const text = taxonomySummary({ hits: 12996, subjects: 195, organisms: [organism(0, 12996)] }, null, all);
    expect(text).toMatch(/^12,996 hits on 195 subjects \(all queries\), none with a taxid: .*taxid map when it is added\)\.$/);
  });
  it('has nothing to click in a job without hits', () => {
    expect(taxonomySummary({ hits: 0, subjects: 0, organisms: [] }, null, all)).toBe('0 hits on 0 subjects (all queries), 0 organisms.');
  });
});
