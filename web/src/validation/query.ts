// Client-side check of the query text, mirroring the server's FASTA gate so most mistakes are
// caught before a round trip. The server stays the authority; messages follow its wording.
import type { Limits, Molecule } from '../api/types';
import { formatCount, plural } from '../format/text';

export interface QueryProblem {
  code: string;
  message: string;
}

export interface QueryStats {
  sequences: number;
  letters: number;
  byId?: true; // the query names its sequences: the server reads them from its databases
}

const NUCLEOTIDE = /[^ACGTURYSWKMBDHVN]/;
const PROTEIN = /[^A-Z*]/;
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
const NOT_BARE = /[^A-Za-z*\s]/;
const PROTEIN_ONLY = 'EFILPQ';
const CORE = /[ACGTUN]/g;
const LETTER = /[A-Z]/g;

type QueryLimits = Pick<
  Limits,
  | 'max_nucleotide_letters_per_sequence'
  | 'max_protein_letters_per_sequence'
  | 'max_query_letters_per_job'
  | 'max_sequences_per_job'
  | 'max_defline_chars'
>;

interface RawRecord {
  number: number;
  defline: string;
  lines: string[];
}

// A query of sequence ids (blastdeck/domain/query_ids.py): every word could be an id and could
// not be sequence letters (a digit, '_' or '|'), and is no long run of letters with a stray digit.
const ID_WORD = /^[A-Za-z0-9_.|:-]{1,100}$/;
const ID_EVIDENCE = /[0-9_|]/;

function sequenceLike(word: string): boolean {
  const letters = word.match(/[A-Za-z]/g)?.length ?? 0;
  return word.length > 30 && letters >= 0.9 * word.length;
}

/** The ids the query lists, each once, or null when it is FASTA, a bare sequence or neither. */
export function sequenceIds(text: string): string[] | null {
  const body = text.replace(/^\ufeff/, '');
  if (body.includes('>')) return null;
  const kept = body.split(/\r\n|\r|\n/).filter((l) => !l.trimStart().startsWith(';'));
  const words = kept.join('\n').split(/[\s,]+/).filter((w) => w !== '');
  if (!words.length) return null;
  if (!words.every((w) => ID_WORD.test(w) && ID_EVIDENCE.test(w) && !sequenceLike(w))) return null;
  return [...new Set(words)];
}

/** Proportion test the server uses to tell a nucleotide sequence from a protein. */
function looksNucleotide(upper: string): { letters: number; core: number; nucleotide: boolean } {
  const letters = upper.match(LETTER)?.length ?? 0;
  const core = upper.match(CORE)?.length ?? 0;
  return { letters, core, nucleotide: core * 100 >= letters * 90 };
}

function show(c: string): string {
  return /\s/.test(c) || c < ' ' ? `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : `'${c}'`;
}

function problem(code: string, message: string): { ok: false; problem: QueryProblem } {
  return { ok: false, problem: { code, message } };
}

export type QueryCheck = { ok: true; stats: QueryStats } | { ok: false; problem: QueryProblem };

/** Check `text` as the query of a program whose query molecule is `molecule`. */
export function checkQuery(text: string, molecule: Molecule, limits: QueryLimits | undefined): QueryCheck {
  const body = text.replace(/^\ufeff/, '');
  const control = CONTROL.exec(body);
  if (control) {
    return problem('binary_data', `The query contains the control character ${show(control[0])}; it looks like a binary or compressed file. Upload plain-text FASTA.`);
  }
  if (!body.trim()) return problem('empty_query', 'The query is empty; paste or upload FASTA sequences.');
  const ids = sequenceIds(body);
  if (ids) {
    if (limits && ids.length > limits.max_sequences_per_job) {
      return problem('too_many_sequences', `The query lists ${plural(ids.length, 'sequence id')}; a job may have at most ${plural(limits.max_sequences_per_job, 'sequence')}.`);
    }
    return { ok: true, stats: { sequences: ids.length, letters: 0, byId: true } };
  }

  const lines = body.split(/\r\n|\r|\n/);
  const first = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith(';'));
  if (first < 0) return problem('empty_query', 'The query holds only comment lines and no sequence.');

  const records: RawRecord[] = [];
  if (lines[first]!.trimStart().startsWith('>')) {
    for (let i = first; i < lines.length; i += 1) {
      const line = lines[i]!.trimStart();
      if (line.startsWith('>')) {
        const number = records.length + 1;
        if (limits && number > limits.max_sequences_per_job) {
          return problem('too_many_sequences', `The query has more than ${plural(limits.max_sequences_per_job, 'sequence')} (the limit); split it into several searches.`);
        }
        const defline = line.slice(1).trim();
        if (limits && defline.length > limits.max_defline_chars) {
          return problem('header_too_long', `The header of sequence ${number} (line ${i + 1}) is longer than ${limits.max_defline_chars.toLocaleString('en-US')} characters.`);
        }
        records.push({ number, defline: defline || `Query_${number}`, lines: [] });
      } else if (!line.startsWith(';')) {
        records[records.length - 1]!.lines.push(line);
      }
    }
  } else {
    const rest = lines.slice(first).filter((l) => !l.trimStart().startsWith(';'));
    for (let k = 0; k < rest.length; k += 1) {
      const line = rest[k]!;
      if (line.trimStart().startsWith('>')) {
        return problem('invalid_fasta', `The query has text before its first '>' header. A query must be FASTA: a '>' header line, then sequence lines.`);
      }
      const bad = NOT_BARE.exec(line);
      if (bad) {
        return problem('invalid_fasta', `The query is not FASTA: it contains ${show(bad[0])}. A query must be FASTA: a '>' header line, then sequence lines (or one bare sequence of letters).`);
      }
    }
    records.push({ number: 1, defline: 'Query_1', lines: rest });
  }

  let total = 0;
  for (const record of records) {
    const result = checkRecord(record, molecule, limits);
    if (typeof result !== 'number') return { ok: false, problem: result };
    total += result;
  }
  if (limits && total > limits.max_query_letters_per_job) {
    return problem('query_too_large', `The query has ${plural(total, 'letter')} in all; a job may have at most ${formatCount(limits.max_query_letters_per_job)}.`);
  }
  return { ok: true, stats: { sequences: records.length, letters: total } };
}

/** The record's letter count, or what is wrong with it. */
function checkRecord(record: RawRecord, molecule: Molecule, limits: QueryLimits | undefined): number | QueryProblem {
  const id = record.defline.split(/\s+/)[0] ?? '';
  const name = `Sequence ${record.number} ('${id.length > 60 ? `${id.slice(0, 60)}...` : id}')`;
  const raw = record.lines.join('').replace(/\s+/g, '');
  if (!raw) return { code: 'empty_query', message: `${name} has a header but no sequence.` };
  // eslint-disable-next-line no-control-regex
  const nonAscii = /[^\x00-\x7f]/.exec(raw);
  if (nonAscii) {
    return { code: 'invalid_residues', message: `${name} contains the invalid character ${show(nonAscii[0])} (first at residue ${nonAscii.index + 1}). Only ASCII letters are residues.` };
  }
  const seq = raw.toUpperCase();
  if (molecule === 'nucl') {
    const bad = NUCLEOTIDE.exec(seq);
    if (bad) {
      const proteinLetters = [...PROTEIN_ONLY].filter((c) => seq.includes(c));
      if (proteinLetters.length && !looksNucleotide(seq).nucleotide) {
        return {
          code: 'query_molecule_mismatch',
          message: `${name} looks like a protein sequence (it contains ${proteinLetters.join(', ')}), but this program needs a nucleotide query. Use blastp or tblastn, or check the sequence.`,
        };
      }
      return { code: 'invalid_residues', message: `${name} contains ${invalidList(seq, NUCLEOTIDE)} (first at residue ${bad.index + 1}). Nucleotide codes are the IUPAC letters ACGTURYSWKMBDHVN.` };
    }
  } else {
    const comp = looksNucleotide(seq);
    if (comp.letters >= 10 && comp.nucleotide) {
      return {
        code: 'query_molecule_mismatch',
        message: `${name} looks like a nucleotide sequence (${Math.floor((comp.core * 100) / comp.letters)}% of its letters are A, C, G, T, U or N), but this program needs a protein query. Use blastn, blastx or tblastx, or check the sequence.`,
      };
    }
    const bad = PROTEIN.exec(seq);
    if (bad) {
      return { code: 'invalid_residues', message: `${name} contains ${invalidList(seq, PROTEIN)} (first at residue ${bad.index + 1}). Protein residues are the letters A–Z and '*'.` };
    }
  }
  if (limits) {
    const max = molecule === 'nucl' ? limits.max_nucleotide_letters_per_sequence : limits.max_protein_letters_per_sequence;
    if (seq.length > max) {
      const kind = molecule === 'nucl' ? 'nucleotide' : 'protein';
      return { code: 'sequence_too_long', message: `${name} has ${seq.length.toLocaleString('en-US')} letters; a ${kind} query sequence may have at most ${max.toLocaleString('en-US')}.` };
    }
  }
  return seq.length;
}

function invalidList(seq: string, pattern: RegExp): string {
  const global = new RegExp(pattern.source, 'g');
  const chars = [...new Set(seq.match(global) ?? [])].sort();
  const shown = chars.slice(0, 10).map(show).join(', ');
  const more = chars.length > 10 ? ` and ${chars.length - 10} more` : '';
  const hint = chars.includes('-') || chars.includes('.') ? " Alignment gaps ('-', '.') are not allowed in a query." : '';
  return `${chars.length === 1 ? 'an invalid character' : 'invalid characters'} ${shown}${more}${hint ? ` —${hint}` : ''}`;
}

/** A file larger than the server accepts, checked before reading it. */
export function checkUploadSize(bytes: number, limits: Pick<Limits, 'max_upload_bytes'> | undefined): QueryProblem | null {
  if (limits && bytes > limits.max_upload_bytes) {
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    return { code: 'payload_too_large', message: `The file is ${mib(bytes)}; uploads may be at most ${mib(limits.max_upload_bytes)}.` };
  }
  return null;
}
