// Picks one of the job's queries by its place (or all of them, where a tab allows it): two
// queries with the same id are two entries.
import type { ProgramName, QuerySummary } from '../../api/types';
import { lengthUnit, queryLabel } from '../../results/queries';

interface Props {
  queries: QuerySummary[] | undefined;
  program: ProgramName;
  /** The chosen query's `query_index`; null: all queries (with `allowAll`) or none yet. */
  value: number | null;
  onChange: (queryIndex: number | null) => void;
  allowAll?: boolean;
  testId: string;
}

export function QuerySelect({ queries, program, value, onChange, allowAll = false, testId }: Props) {
  const unit = lengthUnit(program);
  return (
    <label className="field field-inline">
      <span className="label">Query</span>
      <select
        value={value == null ? '' : String(value)}
        onChange={(e) => onChange(e.target.value === '' ? null : Number(e.target.value))}
        data-testid={testId}
        title="Queries are numbered by their place in the submitted FASTA"
      >
        {allowAll && <option value="">All queries</option>}
        {!allowAll && !queries?.length && <option value="">—</option>}
        {queries?.map((q) => (
          <option key={q.query_index} value={String(q.query_index)} data-query-id={q.query_id}>
            {queryLabel(q, unit)}
          </option>
        ))}
      </select>
    </label>
  );
}
