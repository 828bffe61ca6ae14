// Which molecule each BLAST program reads. /api/programs is the source (domain/programs.py);
// this copy only lets the form render before that answer arrives.
import type { Database, Molecule, ProgramInfo, ProgramName } from '../api/types';

export const PROGRAM_NAMES: readonly ProgramName[] = ['blastn', 'blastp', 'blastx', 'tblastn', 'tblastx'];

export const FALLBACK_PROGRAMS: readonly ProgramInfo[] = [
  { name: 'blastn', query_molecule: 'nucl', database_molecule: 'nucl', tasks: ['megablast', 'dc-megablast', 'blastn', 'blastn-short'], default_task: 'megablast' },
  { name: 'blastp', query_molecule: 'prot', database_molecule: 'prot', tasks: ['blastp', 'blastp-fast', 'blastp-short'], default_task: 'blastp' },
  { name: 'blastx', query_molecule: 'nucl', database_molecule: 'prot', tasks: ['blastx', 'blastx-fast'], default_task: 'blastx' },
  { name: 'tblastn', query_molecule: 'prot', database_molecule: 'nucl', tasks: ['tblastn', 'tblastn-fast'], default_task: 'tblastn' },
  { name: 'tblastx', query_molecule: 'nucl', database_molecule: 'nucl', tasks: [], default_task: null },
];

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
