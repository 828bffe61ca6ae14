// Picks one of the job's queries (or all of them, where a tab allows it).
import type { QuerySummary } from '../../api/types';

interface Props {
  queries: QuerySummary[] | undefined;
  value: string;
  onChange: (queryId: string) => void;
  allowAll?: boolean;
  testId: string;
}

export function QuerySelect({ queries, value, onChange, allowAll = false, testId }: Props) {
  return (
    <label className="field field-inline">
      <span className="label">Query</span>
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        {allowAll && <option value="">All queries</option>}
        {!allowAll && !queries?.length && <option value="">—</option>}
        {queries?.map((q) => (
          <option key={q.query_id} value={q.query_id}>
            {q.query_id} ({q.qlen.toLocaleString('en-US')} letters, {q.hits.toLocaleString('en-US')} hits)
          </option>
        ))}
      </select>
    </label>
  );
}
