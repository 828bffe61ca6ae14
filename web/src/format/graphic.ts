// Layout for the Graphic tab: HSPs laid along the query, one row per subject (hit). Pure.
import type { Hsp } from '../api/types';

/** NCBI's colour key for alignment scores (bits). */
export const SCORE_BANDS = [
  { label: '< 40', min: -Infinity, color: '#000000' },
  { label: '40 – 50', min: 40, color: '#0047c8' },
  { label: '50 – 80', min: 50, color: '#77de75' },
  { label: '80 – 200', min: 80, color: '#d54ee4' },
  { label: '≥ 200', min: 200, color: '#e83d3d' },
] as const;

export function scoreBand(bits: number): number {
  let band = 0;
  SCORE_BANDS.forEach((b, i) => {
    if (bits >= b.min) band = i;
  });
  return band;
}

export interface Segment {
  from: number; // query coordinates, from <= to
  to: number;
  bitscore: number;
  evalue: number;
  pident: number;
}

export interface SubjectRow {
  subjectId: string;
  title: string;
  bestBits: number;
  segments: Segment[];
}

/** Group HSPs by subject (best subject first, as the HSPs come sorted), keep `maxRows`. */
export function subjectRows(hsps: Hsp[], maxRows = 100): SubjectRow[] {
  const rows = new Map<string, SubjectRow>();
  for (const hsp of hsps) {
    let row = rows.get(hsp.subject_id);
    if (!row) {
      if (rows.size >= maxRows) continue;
      row = { subjectId: hsp.subject_id, title: hsp.subject_title, bestBits: hsp.bitscore, segments: [] };
      rows.set(hsp.subject_id, row);
    }
    row.bestBits = Math.max(row.bestBits, hsp.bitscore);
    row.segments.push({
      from: Math.min(hsp.qstart, hsp.qend),
      to: Math.max(hsp.qstart, hsp.qend),
      bitscore: hsp.bitscore,
      evalue: hsp.evalue,
      pident: hsp.pident,
    });
  }
  return [...rows.values()].sort((a, b) => b.bestBits - a.bestBits);
}

/** Ruler ticks at a round step (1, 2 or 5 × 10^k) giving about `target` intervals. */
export function rulerTicks(length: number, target = 10): number[] {
  if (length <= 0) return [];
  const raw = length / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? power * 10);
  const ticks = [1];
  // Interior ticks stop short of the end so the last label doesn't crowd the length's label.
  for (let t = step; t <= length - 0.4 * step; t += step) if (t > 1) ticks.push(Math.round(t));
  if (length > 1) ticks.push(length);
  return ticks;
}
