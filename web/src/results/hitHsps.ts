// The HSPs of one hit (a query and a subject), read from /hsps. Pure apart from the page fetcher.
import type { Hsp, HspPage } from '../api/types';

export type HspPageFetcher = (offset: number, limit: number) => Promise<HspPage>;

/**
 * Every HSP of subject `subjectId` among one query's HSPs, which `fetchPage` serves sorted by
 * subject (so they are contiguous). Stops once it has the hit's `expected` HSPs, once it has
 * passed them, or at the end; at most `maxPages` requests.
 */
export async function gatherHitHsps(
  fetchPage: HspPageFetcher,
  subjectId: string,
  expected: number,
  pageSize = 1000,
  maxPages = 50,
): Promise<Hsp[]> {
  const found: Hsp[] = [];
  for (let page = 0, offset = 0; page < maxPages; page += 1) {
    const { items, total } = await fetchPage(offset, pageSize);
    for (const hsp of items) {
      if (hsp.subject_id === subjectId) found.push(hsp);
      else if (found.length > 0) return rankHsps(found); // past the subject's run
    }
    if (found.length >= expected) return rankHsps(found);
    offset += items.length;
    if (items.length === 0 || offset >= total) break;
  }
  return rankHsps(found);
}

/** BLAST's order within a hit: e-value, then bit score (high first), then query position. */
export function rankHsps(hsps: Hsp[]): Hsp[] {
  return [...hsps].sort((a, b) => a.evalue - b.evalue || b.bitscore - a.bitscore || Math.min(a.qstart, a.qend) - Math.min(b.qstart, b.qend));
}
