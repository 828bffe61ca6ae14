import { describe, expect, it } from 'vitest';
import type { Database } from '../api/types';
import { databaseFields, databaseLabel, databasesFor, otherDatabases, unavailableText } from './programs';

function db(p: Partial<Database>): Database {
  return {
    name: 'demo-16s', scope: 'public', available: true, unavailable_reason: null, title: '16S demo', molecule: 'nucl', sequences: 2,
    letters: 3000, path: '/x', source: 'demo', owner_id: null, visibility: 'public', group: null, created_at: null, ...p,
  };
}

describe('databases in the search form', () => {
  it('are named by their qualified name, with a proper plural', () => {
    expect(databaseLabel(db({ name: '@lab/16s', title: 'Lab 16S', sequences: 1 }))).toBe('@lab/16s — Lab 16S (1 sequence)');
    expect(databaseLabel(db({ name: 'alice/x', sequences: 1500 }))).toBe('alice/x — 16S demo (1,500 sequences)');
  });
  it('say why one cannot be searched', () => {
    const gone = db({ name: 'nt', available: false, unavailable_reason: 'no file nt.nsq under /data/nt' });
    expect(databaseLabel(gone)).toBe('nt — 16S demo (2 sequences) — unavailable: no file nt.nsq under /data/nt');
    expect(unavailableText(gone)).toBe('Database nt cannot be searched: no file nt.nsq under /data/nt.');
  });
  it('fit the program by molecule', () => {
    expect(databasesFor([db({}), db({ name: 'p', molecule: 'prot' })], 'prot').map((d) => d.name)).toEqual(['p']);
  });
});

describe('several databases in one search', () => {
  it('offer the other searchable databases of the molecule', () => {
    const fitting = [db({ name: 'a' }), db({ name: 'b' }), db({ name: 'gone', available: false })];
    expect(otherDatabases(fitting, 'a').map((d) => d.name)).toEqual(['b']);
  });
  it('send database for one, databases (chosen first, each once) for several', () => {
    expect(databaseFields('a', [])).toEqual({ database: 'a' });
    expect(databaseFields('a', ['a'])).toEqual({ database: 'a' });
    expect(databaseFields('a', ['c', 'b', 'c', 'a'])).toEqual({ databases: ['a', 'c', 'b'] });
  });
});
