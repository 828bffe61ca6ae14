import { describe, expect, it } from 'vitest';
import type { Database, Job } from '../api/types';
import { addTaxon, coverageText, removeTaxon, taxaFromFilter, taxaOptions, whyNoOrganisms, type ChosenTaxon } from './taxa';

const ecoli: ChosenTaxon = { taxid: 562, name: 'Escherichia coli', rank: 'species', mode: 'exclude' };
const entero: ChosenTaxon = { taxid: 91347, name: 'Enterobacterales', rank: 'order', mode: 'include' };

describe('chosen taxa', () => {
  it('become taxids and negative_taxids by taxid', () => {
    expect(taxaOptions([])).toEqual({});
    expect(taxaOptions([entero])).toEqual({ taxids: ['91347'] });
    expect(taxaOptions([entero, ecoli])).toEqual({ taxids: ['91347'], negative_taxids: ['562'] });
  });
  it('keep one entry per taxon, in its last mode', () => {
    const list = addTaxon(addTaxon([entero], ecoli), { ...ecoli, mode: 'include' });
    expect(list.map((t) => [t.taxid, t.mode])).toEqual([
      [91347, 'include'],
      [562, 'include'],
    ]);
    expect(removeTaxon(list, 91347)).toEqual([{ ...ecoli, mode: 'include' }]);
  });
  it('come back from a duplicated job', () => {
    const filter: Job['taxon_filter'] = {
      taxids: ['Enterobacterales'],
      negative_taxids: ['562'],
      include_taxa: [91347],
      exclude_taxa: [562],
      expanded_taxids: 30000,
      database_taxids: 40,
      blast_option: '-taxidlist',
    };
    expect(taxaOptions(taxaFromFilter(filter))).toEqual({ taxids: ['91347'], negative_taxids: ['562'] });
    expect(taxaFromFilter(null)).toEqual([]);
  });
});

describe('a database and organisms', () => {
  const base = { name: 'db', sequences: 3000 } as Database;
  it('says why a database cannot be filtered', () => {
    expect(whyNoOrganisms(undefined)).toBeNull();
    expect(whyNoOrganisms({ ...base, taxonomy: null })).toContain('added before');
    expect(whyNoOrganisms({ ...base, taxonomy: { taxid_sequences: 0, distinct_taxids: 0, top_organisms: [] } })).toContain('no taxids');
    const covered = { ...base, taxonomy: { taxid_sequences: 2797, distinct_taxids: 1330, top_organisms: [] } };
    expect(whyNoOrganisms(covered)).toBeNull();
    expect(coverageText(covered)).toBe('2,797 of 3,000 sequences have a taxid (1,330 taxa)');
  });
});
