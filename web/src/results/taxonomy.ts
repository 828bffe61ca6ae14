// Hits by organism on the page: the taxon filter carried in the URL (the Taxonomy tab opens the
// Hits tab filtered to an organism), and how organisms and tree nodes are named. Pure.
import type { Hit, Rank, TaxonomyNode, TaxonomyOrganism } from '../api/types';
import { formatCount, plural } from '../format/text';

/** The standard ranks a report can be rolled up to, top first (the API's `rank` values). */
export const RANKS: readonly Rank[] = ['superkingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species'];

/** Each rank's plural, for counts ("3 genera", "2 species"). */
const RANK_PLURALS: Record<Rank, string> = {
  superkingdom: 'superkingdoms',
  phylum: 'phyla',
  class: 'classes',
  order: 'orders',
  family: 'families',
  genus: 'genera',
  species: 'species',
};

const MAX_TAXID = 2 ** 31 - 1;

/** The URL's `taxid` as the API takes it (a positive 32-bit integer), else null. */
export function parseTaxid(value: string | null): number | null {
  if (!value || !/^[0-9]{1,10}$/.test(value)) return null;
  const taxid = Number(value);
  return taxid >= 1 && taxid <= MAX_TAXID ? taxid : null;
}

/** The search params that open the Hits tab filtered to one taxon (and everything under it). */
export function hitsOfTaxon(current: URLSearchParams, taxid: number, name: string | null): URLSearchParams {
  const next = new URLSearchParams(current);
  next.set('tab', 'hits');
  next.set('taxid', String(taxid));
  if (name) next.set('taxon', name);
  else next.delete('taxon');
  return next;
}

/** The search params without the taxon filter. */
export function withoutTaxon(current: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(current);
  next.delete('taxid');
  next.delete('taxon');
  return next;
}

/** A hit's organism as the table shows it: its scientific name, else why there is none. */
export function organismName(hit: Pick<Hit, 'scientific_name' | 'staxid'>): string {
  if (hit.scientific_name) return hit.scientific_name;
  return hit.staxid ? `unknown taxid ${hit.staxid}` : 'no taxid';
}

/** A tree node's name: taxid 0 gathers the subjects without a known organism. */
export function nodeName(node: Pick<TaxonomyNode, 'name' | 'taxid'>): string {
  return node.name ?? (node.taxid ? `taxid ${node.taxid}` : 'no taxid');
}

/** A hit's lineage as one line, superkingdom first ("Bacteria › Pseudomonadota › ..."). */
export function lineageText(hit: Pick<Hit, 'lineage'>): string {
  if (!hit.lineage) return '';
  const lineage = hit.lineage;
  return RANKS.map((rank) => lineage[rank]?.name)
    .filter(Boolean)
    .join(' › ');
}

/** What a taxonomy report counts, in words, for `scope` ("all queries", "query X"). The subjects
 * without a taxid (taxid 0) are one row of the table but no organism: a job on a database without
 * taxids has none to count, and says how a database gets them. `rank`: the rank the report is
 * rolled up to, if any. */
export function taxonomySummary(
  report: { hits: number; subjects: number; organisms: Pick<TaxonomyOrganism, 'taxid' | 'hits'>[] },
  rank: Rank | null,
  scope: string,
): string {
  const found = `${plural(report.hits, 'hit')} on ${plural(report.subjects, 'subject')} (${scope})`;
  const named = report.organisms.filter((o) => o.taxid !== 0);
  const unplaced = report.organisms.filter((o) => o.taxid === 0).reduce((sum, o) => sum + o.hits, 0);
  if (report.hits > 0 && named.length === 0) {
    return `${found}, none with a taxid: the database has no taxids for these subjects, so they cannot be grouped by organism (a database gets them from a taxid map when it is added).`;
  }
  const counted = rank ? plural(named.length, rank, RANK_PLURALS[rank]) : plural(named.length, 'organism');
  const without = unplaced > 0 ? ` (and ${formatCount(unplaced)} hits without a taxid)` : '';
  const what = rank ?? 'organism';
  const click = named.length > 0 ? ` Click ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} for its hits.` : '';
  return `${found}, ${counted}${without}.${click}`;
}
