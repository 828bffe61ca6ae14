// Which hits the user ticked in the hit table, and the FASTA download they make. Pure: the
// table keeps a `Selection` in state and replaces it with what these functions return.
import { MAX_SUBJECTS_CHARS, type FastaRegion, type FastaRequest } from '../api/results';
import type { Hit } from '../api/types';

/** A ticked hit: one query's hit on one subject (a row of the table). */
export type Picked = Pick<Hit, 'query_index' | 'subject_id'>;

/** Ticked hits by key, in the order they were ticked. */
export type Selection = ReadonlyMap<string, Picked>;

export const EMPTY_SELECTION: Selection = new Map();

export const pickKey = (h: Picked) => `${h.query_index}\u0000${h.subject_id}`;

export function isPicked(selection: Selection, hit: Picked): boolean {
  return selection.has(pickKey(hit));
}

/** Tick `hit`, or untick it when it was ticked. */
export function toggleHit(selection: Selection, hit: Picked): Selection {
  const next = new Map(selection);
  const key = pickKey(hit);
  if (!next.delete(key)) next.set(key, { query_index: hit.query_index, subject_id: hit.subject_id });
  return next;
}

/** The "this page" box: checked when the page has hits and every one is ticked. */
export function pageState(selection: Selection, page: readonly Picked[]): 'none' | 'some' | 'all' {
  const ticked = page.filter((h) => selection.has(pickKey(h))).length;
  if (ticked === 0) return 'none';
  return ticked === page.length ? 'all' : 'some';
}

/** Clicking the "this page" box: untick the page when all of it is ticked, else tick all of it. */
export function togglePage(selection: Selection, page: readonly Picked[]): Selection {
  const next = new Map(selection);
  if (page.length > 0 && pageState(selection, page) === 'all') {
    for (const h of page) next.delete(pickKey(h));
  } else {
    for (const h of page) next.set(pickKey(h), { query_index: h.query_index, subject_id: h.subject_id });
  }
  return next;
}

export interface SelectionDownload {
  /** The request, or null when nothing is ticked or the ids are too long for one address. */
  request: FastaRequest | null;
  /** Distinct subjects ticked. */
  subjects: number;
  /** The ticked hits' queries (their `query_index`), ascending. */
  queries: number[];
  /** The ids together pass the server's bound on `subjects=`. */
  tooMany: boolean;
}

/**
 * The FASTA download of the ticked hits. Each subject is named once; the ticked hits of one
 * query go with that query (its HSP regions only), hits of several queries name the subjects
 * alone (their HSP regions in every query's hits: one address cannot pair ids with queries).
 */
export function selectionDownload(selection: Selection, region: FastaRegion): SelectionDownload {
  const subjects: string[] = [];
  const seen = new Set<string>();
  const queries = new Set<number>();
  for (const h of selection.values()) {
    queries.add(h.query_index);
    if (!seen.has(h.subject_id)) {
      seen.add(h.subject_id);
      subjects.push(h.subject_id);
    }
  }
  const sorted = [...queries].sort((a, b) => a - b);
  const tooMany = subjects.join(',').length > MAX_SUBJECTS_CHARS;
  const request =
    subjects.length === 0 || tooMany
      ? null
      : { region, subjects, queryIndex: sorted.length === 1 ? sorted[0]! : null };
  return { request, subjects: subjects.length, queries: sorted, tooMany };
}
