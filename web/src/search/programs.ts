// Which molecule each BLAST program reads. /api/programs answers the same table; the generated
// copy of domain/programs.py lets the form render before that answer arrives.
import { PROGRAMS } from '../api/domain.generated';
import type { Database, Molecule, ProgramInfo, ProgramName } from '../api/types';

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
