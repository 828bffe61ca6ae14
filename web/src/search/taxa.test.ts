import { describe, expect, it } from 'vitest';
import type { Database, Job } from '../api/types';
import { addTaxon, coverageText, filterText, moveActive, pickedOnEnter, removeTaxon, taxaFromFilter, taxaOptions, unchosenTaxon, whyNoOrganisms, type ChosenTaxon } from './taxa';

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

describe('the organism field by keyboard', () => {
  it('moves the highlight through the suggestions, wrapping, from none', () => {
    expect(moveActive(-1, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(0, 3, 'ArrowDown')).toBe(1);
    expect(moveActive(2, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(-1, 3, 'ArrowUp')).toBe(2);
    expect(moveActive(0, 3, 'ArrowUp')).toBe(2);
    expect(moveActive(2, 3, 'ArrowUp')).toBe(1);
    expect(moveActive(1, 0, 'ArrowDown')).toBe(-1);
  });
  it('picks the highlighted suggestion on Enter, else the best one, else none', () => {
    expect(pickedOnEnter(['a', 'b', 'c'], 1)).toBe('b');
    expect(pickedOnEnter(['a', 'b', 'c'], -1)).toBe('a');
    expect(pickedOnEnter(['a', 'b'], 5)).toBe('a'); // a highlight left from a longer list
    expect(pickedOnEnter([], 0)).toBeUndefined();
    expect(pickedOnEnter(undefined, -1)).toBeUndefined(); // still searching
  });
  it('stops a submit with a name typed but not chosen', () => {
    const db = { name: 'd', sequences: 10, taxonomy: { taxid_sequences: 5, distinct_taxids: 2 } } as Database;
    expect(unchosenTaxon('', db)).toBeNull();
    expect(unchosenTaxon('   ', db)).toBeNull();
    const problem = unchosenTaxon(' Firmic ', db);
    expect(problem?.code).toBe('taxon_not_chosen');
    expect(problem?.message).toContain('"Firmic" is not chosen');
    // A database without taxids disables the field; what it holds is not sent either way.
    const plain = { name: 'p', sequences: 10, taxonomy: { taxid_sequences: 0, distinct_taxids: 0 } } as Database;
    expect(unchosenTaxon('Firmic', plain)).toBeNull();
  });
});
