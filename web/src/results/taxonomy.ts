// Hits by organism on the page: the taxon filter carried in the URL (the Taxonomy tab opens the
// Hits tab filtered to an organism), and how organisms and tree nodes are named. Pure.
import type { Hit, Rank, TaxonomyNode } from '../api/types';

/** The standard ranks a report can be rolled up to, top first (the API's `rank` values). */
export const RANKS: readonly Rank[] = ['superkingdom', 'phylum', 'class', 'order', 'family', 'genus', 'species'];

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
