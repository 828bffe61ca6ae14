// The search form's organism filter: taxa chosen from /api/taxonomy/search, each included
// (search only within it and its descendants) or excluded, sent as the job options `taxids` /
// `negative_taxids` (by taxid, so a homonym is never ambiguous).
import type { Database, Job } from '../api/types';
import type { ShownError } from '../components/search/FieldError';
import { formatCount } from '../format/text';

export type TaxonMode = 'include' | 'exclude';

export interface ChosenTaxon {
  taxid: number;
  name: string;
  rank: string;
  mode: TaxonMode;
}

/** The list with `taxon` added; a taxon chosen again keeps one entry, in its new mode. */
export function addTaxon(list: ChosenTaxon[], taxon: ChosenTaxon): ChosenTaxon[] {
  return [...list.filter((t) => t.taxid !== taxon.taxid), taxon];
}

export function removeTaxon(list: ChosenTaxon[], taxid: number): ChosenTaxon[] {
  return list.filter((t) => t.taxid !== taxid);
}

/** The job options for the chosen taxa (none when nothing is chosen). */
export function taxaOptions(list: ChosenTaxon[]): { taxids?: string[]; negative_taxids?: string[] } {
  const pick = (mode: TaxonMode) => list.filter((t) => t.mode === mode).map((t) => String(t.taxid));
  const include = pick('include');
  const exclude = pick('exclude');
  return { ...(include.length ? { taxids: include } : {}), ...(exclude.length ? { negative_taxids: exclude } : {}) };
}

/** A filter's taxa by name: their scientific names (a job stored before the server kept them:
 * as the job was given them, a taxid then shown as "taxid N"). */
function filterNames(taxa: number[], names: string[] | null | undefined, given: string[]): string[] {
  return taxa.map((taxid, i) => names?.[i] ?? nameAsGiven(given[i], taxid));
}

const nameAsGiven = (given: string | undefined, taxid: number) => (given && !/^\d+$/.test(given) ? given : `taxid ${taxid}`);

/** A duplicated job's filter back as chosen taxa, by name. */
export function taxaFromFilter(filter: Job['taxon_filter']): ChosenTaxon[] {
  if (!filter) return [];
  const chosen = (taxa: number[], names: string[], mode: TaxonMode) =>
    taxa.map((taxid, i) => ({ taxid, name: names[i] ?? `taxid ${taxid}`, rank: '', mode }));
  return [
    ...chosen(filter.include_taxa, filterNames(filter.include_taxa, filter.include_names, filter.taxids), 'include'),
    ...chosen(filter.exclude_taxa, filterNames(filter.exclude_taxa, filter.exclude_names, filter.negative_taxids), 'exclude'),
  ];
}

/** A job's organism filter in a line: "only within Escherichia; excluding Homo sapiens; 20 of
 * 40 sequences searched" (the count when the server knew it). */
export function filterText(filter: NonNullable<Job['taxon_filter']>): string {
  const parts: string[] = [];
  const within = filterNames(filter.include_taxa, filter.include_names, filter.taxids);
  const without = filterNames(filter.exclude_taxa, filter.exclude_names, filter.negative_taxids);
  if (within.length) parts.push(`only within ${within.join(', ')}`);
  if (without.length) parts.push(`excluding ${without.join(', ')}`);
  const searched = filter.searched_sequences;
  const total = filter.database_sequences;
  if (searched != null && total != null) parts.push(`${formatCount(searched)} of ${formatCount(total)} sequences searched`);
  return parts.join('; ');
}

/** What the database's coverage allows: null when it can be filtered by organism, else why not. */
export function whyNoOrganisms(database: Database | undefined): string | null {
  if (!database) return null;
  if (!database.taxonomy) return `${database.name} was added before BlastDeck read taxids; add it again to search within organisms.`;
  if (!database.taxonomy.taxid_sequences) return `${database.name} has no taxids, so it cannot be searched within organisms.`;
  return null;
}

/** "2,797 of 3,000 sequences have a taxid (1,330 taxa)". */
export function coverageText(database: Database): string {
  const t = database.taxonomy;
  if (!t) return '';
  const n = (x: number) => x.toLocaleString('en-US');
  return `${n(t.taxid_sequences)} of ${n(database.sequences)} sequences have a taxid (${n(t.distinct_taxids)} taxa)`;
}

/** The suggestion the arrow keys move to among `count` (wrapping); -1 is none, the text itself. */
export function moveActive(active: number, count: number, key: 'ArrowDown' | 'ArrowUp'): number {
  if (count === 0) return -1;
  if (key === 'ArrowDown') return active + 1 >= count ? 0 : active + 1;
  return active <= 0 ? count - 1 : active - 1;
}

/** Enter in the organism field picks the highlighted suggestion, else the best one (the first). */
export function pickedOnEnter<T>(suggestions: readonly T[] | undefined, active: number): T | undefined {
  if (!suggestions?.length) return undefined;
  return suggestions[active >= 0 && active < suggestions.length ? active : 0];
}

/** Text left in the organism field with no taxon chosen from it: a search sent so would not be
 * limited to it, so the form says so instead of sending it (null: nothing is left there). */
export function unchosenTaxon(text: string, database: Database | undefined): ShownError | null {
  const typed = text.trim();
  if (!typed || whyNoOrganisms(database)) return null;
  return {
    code: 'taxon_not_chosen',
    message: `"${typed}" is not chosen: pick a taxon from the suggestions (or clear the field), or the search is not limited by it.`,
  };
}
