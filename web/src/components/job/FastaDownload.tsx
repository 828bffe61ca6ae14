// "Download FASTA" under the hit table: the ticked hits' subjects, all hits of the chosen query,
// or every hit of the job; whole subjects or each HSP's aligned region (blastdbcmd's output).
import { useState } from 'react';
import type { FastaRegion } from '../../api/results';
import type { QuerySummary } from '../../api/types';
import { plural } from '../../format/text';
import { queryName } from '../../results/queries';
import { selectionDownload, type Selection } from '../../results/selection';
import { useJobResults } from './JobResultsContext';

interface Props {
  selection: Selection;
  onClear: () => void;
  /** The query the table shows (its Query filter), if one. */
  query: QuerySummary | null;
}

export function FastaDownload({ selection, onClear, query }: Props) {
  const { results } = useJobResults();
  const [region, setRegion] = useState<FastaRegion>('full');
  const picked = selectionDownload(selection, region);
  const ticked = selection.size;
  const selectedTitle = picked.tooMany
    ? 'Too many subjects for one address: download all hits of a query or the whole job instead'
    : ticked === 0
      ? 'Tick hits in the table first'
      : region === 'hsp' && picked.queries.length > 1
        ? "The ticked subjects' HSP regions in every query's hits (the hits are of several queries)"
        : undefined;
  return (
    <div className="card toolbar fasta-download" data-testid="fasta-download" data-selected={ticked} data-subjects={picked.subjects}>
      <span className="label">Download FASTA</span>
      <label className="field field-inline">
        <span className="label">Sequence</span>
        <select value={region} onChange={(e) => setRegion(e.target.value as FastaRegion)} data-testid="fasta-region">
          <option value="full">whole subjects</option>
          <option value="hsp">aligned regions (HSPs)</option>
        </select>
      </label>
      {picked.request ? (
        <a className="btn btn-small btn-primary" href={results.fastaUrl(picked.request)} download title={selectedTitle} data-testid="fasta-selected">
          Selected ({plural(picked.subjects, 'subject')})
        </a>
      ) : (
        <button type="button" className="btn btn-small" disabled title={selectedTitle} data-testid="fasta-selected">
          Selected ({plural(picked.subjects, 'subject')})
        </button>
      )}
      {query ? (
        <a className="btn btn-small" href={results.fastaUrl({ region, queryIndex: query.query_index })} download data-testid="fasta-query">
          All hits of query {queryName(query)}
        </a>
      ) : (
        <button type="button" className="btn btn-small" disabled title="Pick a query above first" data-testid="fasta-query">
          All hits of one query
        </button>
      )}
      <a className="btn btn-small" href={results.fastaUrl({ region })} download data-testid="fasta-job">
        Whole job
      </a>
      {ticked > 0 && (
        <>
          <span className="muted small" data-testid="fasta-ticked">
            {plural(ticked, 'hit')} ticked
          </span>
          <button type="button" className="btn btn-small" onClick={onClear} data-testid="fasta-clear">
            Clear
          </button>
        </>
      )}
      {picked.tooMany && (
        <span className="muted small" role="status" data-testid="fasta-too-many">
          Too many subjects for one download address: use all hits of a query or the whole job.
        </span>
      )}
    </div>
  );
}
