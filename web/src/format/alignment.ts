// Pairwise alignment text like BLAST's: wrap an HSP into lines and number each line's ends.
// Pure; the Alignments tab renders the rows this returns.
import type { Alignment, ProgramName } from '../api/types';

export const LINE_WIDTH = 60;

/** One side (Query or Sbjct) of one wrapped line. */
export interface SideLine {
  start: number;
  text: string;
  end: number;
}

export interface AlignmentRow {
  query: SideLine;
  midline: string;
  subject: SideLine;
}

/** How a side's coordinates move: `step` letters of the sequence per aligned residue. */
interface SideCounter {
  position: number;
  step: 1 | 3;
  direction: 1 | -1;
}

/** Query residues span 3 nt when the query is translated (blastx, tblastx). */
export function queryStep(program: ProgramName): 1 | 3 {
  return program === 'blastx' || program === 'tblastx' ? 3 : 1;
}

/** Subject residues span 3 nt when the database is translated (tblastn, tblastx). */
export function subjectStep(program: ProgramName): 1 | 3 {
  return program === 'tblastn' || program === 'tblastx' ? 3 : 1;
}

function isMinus(start: number, end: number, frame?: number | null, strand?: string | null): boolean {
  if (frame != null && frame !== 0) return frame < 0;
  if (strand) return strand.toLowerCase().startsWith('minus');
  return start > end;
}

function counter(start: number, end: number, step: 1 | 3, minus: boolean): SideCounter {
  // On the minus strand numbering runs down from the higher coordinate.
  const position = minus ? Math.max(start, end) : Math.min(start, end);
  return { position, step, direction: minus ? -1 : 1 };
}

function residues(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i += 1) if (text[i] !== '-') n += 1;
  return n;
}

/** Number one chunk and advance the counter past it. Gaps don't advance. */
function take(c: SideCounter, text: string): SideLine {
  const span = residues(text) * c.step;
  const start = c.position;
  // An all-gap chunk prints end = start - 1 (start + 1 going down), as BLAST does.
  const end = start + c.direction * (span - 1);
  c.position = start + c.direction * span;
  return { start, text, end };
}

/** Wrap one HSP into rows of `width` alignment columns with correct coordinates. */
export function wrapAlignment(hsp: Alignment, program: ProgramName, width: number = LINE_WIDTH): AlignmentRow[] {
  if (width < 1) throw new Error('width must be at least 1');
  const q = counter(hsp.qstart, hsp.qend, queryStep(program), isMinus(hsp.qstart, hsp.qend, hsp.query_frame, hsp.query_strand));
  const s = counter(hsp.sstart, hsp.send, subjectStep(program), isMinus(hsp.sstart, hsp.send, hsp.hit_frame, hsp.hit_strand));
  const columns = Math.max(hsp.qseq.length, hsp.hseq.length);
  const rows: AlignmentRow[] = [];
  for (let at = 0; at < columns; at += width) {
    rows.push({
      query: take(q, hsp.qseq.slice(at, at + width)),
      midline: hsp.midline.slice(at, at + width),
      subject: take(s, hsp.hseq.slice(at, at + width)),
    });
  }
  return rows;
}

/** The rows as text lines: Query, midline, Sbjct and a blank line between blocks. */
export function alignmentLines(rows: AlignmentRow[]): string[] {
  const numberWidth = Math.max(1, ...rows.flatMap((r) => [String(r.query.start).length, String(r.subject.start).length]));
  const side = (label: string, line: SideLine) => `${label}  ${String(line.start).padEnd(numberWidth)}  ${line.text}  ${line.end}`;
  const pad = ' '.repeat('Query'.length + 2 + numberWidth + 2);
  const lines: string[] = [];
  rows.forEach((row, i) => {
    if (i > 0) lines.push('');
    lines.push(side('Query', row.query), pad + row.midline, side('Sbjct', row.subject));
  });
  return lines;
}

export function formatAlignmentText(hsp: Alignment, program: ProgramName, width: number = LINE_WIDTH): string {
  return alignmentLines(wrapAlignment(hsp, program, width)).join('\n');
}

/** Bit scores as BLAST prints them: whole numbers from 100 up, else one decimal. */
export function formatBits(bits: number): string {
  return bits >= 99.95 ? String(Math.round(bits)) : bits.toFixed(1);
}

/** "x/y (p%)": BLAST rounds the percentage to a whole number. */
export function fraction(part: number, whole: number): string {
  const percent = whole > 0 ? Math.round((100 * part) / whole) : 0;
  return `${part}/${whole} (${percent}%)`;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function strandWord(strand: string | null | undefined): string | null {
  if (!strand) return null;
  const s = strand.toLowerCase();
  return s.startsWith('minus') ? 'Minus' : s.startsWith('plus') ? 'Plus' : strand;
}

/** "Strand=Plus/Minus" for nucleotide pairs, "Frame=+2" or "Frame=+1/-3" for translations. */
export function strandOrFrame(hsp: Alignment, program: ProgramName): string | null {
  if (program === 'blastn') {
    const qs = strandWord(hsp.query_strand) ?? (hsp.query_frame != null ? (hsp.query_frame < 0 ? 'Minus' : 'Plus') : null);
    const hs = strandWord(hsp.hit_strand) ?? (hsp.hit_frame != null ? (hsp.hit_frame < 0 ? 'Minus' : 'Plus') : null);
    const subjectMinus = hs ?? (hsp.sstart > hsp.send ? 'Minus' : 'Plus');
    return `Strand=${qs ?? 'Plus'}/${subjectMinus}`;
  }
  const frames: string[] = [];
  if (queryStep(program) === 3 && hsp.query_frame != null) frames.push(signed(hsp.query_frame));
  if (subjectStep(program) === 3 && hsp.hit_frame != null) frames.push(signed(hsp.hit_frame));
  return frames.length ? `Frame=${frames.join('/')}` : null;
}
