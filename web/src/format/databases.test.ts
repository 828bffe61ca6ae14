import { describe, expect, it } from 'vitest';
import {
  buildProgressText,
  coverageText,
  formatBytes,
  percentOf,
  stagedText,
  topOrganismsText,
  visibilityText,
} from './databases';

describe('database formatters', () => {
  it('formats sizes on disk', () => {
    expect(formatBytes(null)).toBe('');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(12.3 * 1024 * 1024)).toBe('12.3 MB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GB');
  });
  it('describes taxonomy coverage', () => {
    expect(coverageText({ taxonomy: null })).toBe('taxids not read');
    expect(coverageText({ taxonomy: { taxid_sequences: 0, distinct_taxids: 0, top_organisms: [] } })).toBe('no taxids');
    const taxonomy = {
      taxid_sequences: 1200,
      distinct_taxids: 7,
      top_organisms: [
        { taxid: 562, name: 'Escherichia coli', sequences: 4 },
        { taxid: 99999999, name: null, sequences: 1 },
      ],
    };
    expect(coverageText({ taxonomy })).toBe('with taxid: 1,200 (7 taxa)');
    expect(coverageText({ taxonomy: { ...taxonomy, distinct_taxids: 1 } })).toBe('with taxid: 1,200 (1 taxon)');
    expect(topOrganismsText({ taxonomy })).toBe('Escherichia coli (562): 4\ntaxid (99999999): 1');
  });
  it('names visibility and progress', () => {
    expect(visibilityText({ visibility: 'group', group: 'lab' })).toBe('group @lab');
    expect(visibilityText({ visibility: 'private', group: null })).toBe('private');
    expect(percentOf(50, 200)).toBe(25);
    expect(percentOf(5, 0)).toBe(0);
    expect(percentOf(300, 200)).toBe(100);
  });
  it('names the clusters where it is staged', () => {
    expect(stagedText({ staged: [] })).toBe('not staged');
    const staged = [
      { cluster: 'local', location: '/s/dbs/x', current: true },
      { cluster: 'hpc', location: '/n/dbs/x (node scratch)', current: false },
    ];
    expect(stagedText({ staged })).toBe('local, hpc (out of date)');
  });
  it('words the build bar of an upload by phase', () => {
    expect(buildProgressText(null)).toEqual({
      label: 'Building the database (checking the FASTA, then makeblastdb)…',
      percent: null,
    });
    expect(buildProgressText({ phase: 'checking', percent: null }).percent).toBeNull(); // inflating
    expect(buildProgressText({ phase: 'checking', percent: 42 })).toEqual({ label: 'Checking FASTA 42 %', percent: 42 });
    expect(buildProgressText({ phase: 'building', percent: 63 })).toEqual({
      label: 'Building (makeblastdb) ~63 %',
      percent: 63,
    });
    expect(buildProgressText({ phase: 'done', percent: 100 }).percent).toBe(100);
  });
});
