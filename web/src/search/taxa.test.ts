import { describe, expect, it } from 'vitest';
import type { Database, Job } from '../api/types';
import { addTaxon, coverageText, filterText, removeTaxon, taxaFromFilter, taxaOptions, whyNoOrganisms, type ChosenTaxon } from './taxa';

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
    // stored before the server kept names: a name as given, a taxid as "taxid N"
    expect(taxaFromFilter(filter).map((t) => t.name)).toEqual(['Enterobacterales', 'taxid 562']);
    const named = { ...filter, include_names: ['Enterobacterales'], exclude_names: ['Escherichia coli'] };
    expect(taxaFromFilter(named).map((t) => t.name)).toEqual(['Enterobacterales', 'Escherichia coli']);
  });
  it('read as a line on the job page, with the sequences searched', () => {
    const filter: NonNullable<Job['taxon_filter']> = {
      taxids: ['91347', '1763'],
      negative_taxids: ['562'],
      include_taxa: [91347, 1763],
      exclude_taxa: [562],
      include_names: ['Enterobacterales', 'Mycobacterium'],
      exclude_names: ['Escherichia coli'],
      expanded_taxids: 30000,
      database_taxids: 40,
      blast_option: '-taxidlist',
      searched_sequences: 1048,
      database_sequences: 10000,
    };
    expect(filterText(filter)).toBe(
      'only within Enterobacterales, Mycobacterium; excluding Escherichia coli; 1,048 of 10,000 sequences searched',
    );
    const old = { ...filter, include_names: null, exclude_names: undefined, negative_taxids: [], exclude_taxa: [], searched_sequences: null };
    expect(filterText(old)).toBe('only within taxid 91347, taxid 1763');
    expect(filterText({ ...old, taxids: ['Enterobacterales', 'Mycobacterium'] })).toBe('only within Enterobacterales, Mycobacterium');
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
