// Which molecule each BLAST program reads. /api/programs answers the same table; the generated
// copy of domain/programs.py lets the form render before that answer arrives.
import { PROGRAMS } from '../api/domain.generated';
import type { Database, Molecule, ProgramInfo, ProgramName } from '../api/types';
import { plural } from '../format/text';

export const PROGRAM_NAMES: readonly ProgramName[] = PROGRAMS.map((p) => p.name);

export const FALLBACK_PROGRAMS: readonly ProgramInfo[] = PROGRAMS;

export const PROGRAM_SUMMARY: Record<ProgramName, string> = {
  blastn: 'nucleotide query vs nucleotide database',
  blastp: 'protein query vs protein database',
  blastx: 'translated nucleotide query vs protein database',
  tblastn: 'protein query vs translated nucleotide database',
  tblastx: 'translated nucleotide query vs translated nucleotide database',
};

export function programInfo(programs: readonly ProgramInfo[] | undefined, name: ProgramName): ProgramInfo {
  return programs?.find((p) => p.name === name) ?? FALLBACK_PROGRAMS.find((p) => p.name === name)!;
}

export function databasesFor(databases: readonly Database[] | undefined, molecule: Molecule): Database[] {
  return (databases ?? []).filter((d) => d.molecule === molecule);
}

export function moleculeWord(molecule: Molecule): string {
  return molecule === 'nucl' ? 'nucleotide' : 'protein';
}

/** A database in the form's list, by its qualified name: "@lab/16s — Lab 16S (1 sequence)"; one
 * whose files are missing says so (and is shown disabled). */
export function databaseLabel(d: Pick<Database, 'name' | 'title' | 'sequences' | 'available' | 'unavailable_reason'>): string {
  const label = `${d.name} — ${d.title} (${plural(d.sequences, 'sequence')})`;
  return d.available ? label : `${label} — unavailable: ${d.unavailable_reason ?? 'its files are missing'}`;
}

export function unavailableText(d: Pick<Database, 'name' | 'unavailable_reason'>): string {
  return `Database ${d.name} cannot be searched: ${d.unavailable_reason ?? 'its files are missing'}.`;
}

/** The databases the form may add to the chosen one: the others of its molecule that can be
 * searched. */
export function otherDatabases(fitting: readonly Database[], primary: string): Database[] {
  return fitting.filter((d) => d.name !== primary && d.available);
}

/** The submit's database fields: `database` for one, `databases` (the chosen one first, each
 * once) when more are added; the server searches them as one (their union, as `-db "a b"`). */
export function databaseFields(primary: string, extras: readonly string[]): { database: string } | { databases: string[] } {
  const more = [...new Set(extras)].filter((name) => name && name !== primary);
  return more.length ? { databases: [primary, ...more] } : { database: primary };
}
