// A job's queries as the result tabs' pickers show them: by position, so two queries with the
// same id are two entries. Pure.
import { PROGRAMS } from '../api/domain.generated';
import type { ProgramName, QuerySummary } from '../api/types';
import { formatCount, plural } from '../format/text';

/** The unit of a query's length: base pairs for nucleotide queries, amino acids for proteins. */
export function lengthUnit(program: ProgramName): 'bp' | 'aa' {
  return PROGRAMS.find((p) => p.name === program)?.query_molecule === 'prot' ? 'aa' : 'bp';
}

/** "#3 same": the query's 1-based place in the submitted FASTA, then its id. */
export function queryName(q: Pick<QuerySummary, 'query_index' | 'query_id'>): string {
  return `#${q.query_index + 1} ${q.query_id}`;
}

/** "#3 same — 1,506 bp, 12 hits"; a query without HSPs has no known length: "#4 x — no hits". */
export function queryLabel(q: QuerySummary, unit: 'bp' | 'aa'): string {
  if (q.hits === 0 || q.qlen == null) return `${queryName(q)} — no hits`;
  return `${queryName(q)} — ${formatCount(q.qlen)} ${unit}, ${plural(q.hits, 'hit')}`;
}

/** The query a single-query tab opens on: the first with hits, else the first. */
export function firstQueryIndex(queries: readonly QuerySummary[] | undefined): number | null {
  if (!queries?.length) return null;
  return (queries.find((q) => q.hits > 0) ?? queries[0]!).query_index;
}
