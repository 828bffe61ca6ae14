// Pairwise alignments of one query, BLAST style, a page at a time.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { Alignment, Job, ProgramName } from '../../api/types';
import { formatAlignmentText, formatBits, fraction, strandOrFrame } from '../../format/alignment';
import { formatEvalue } from '../../format/text';
import { firstQueryIndex } from '../../results/queries';
import { ErrorNote } from '../ErrorNote';
import { Pager } from '../Pager';
import { useJobResults } from './JobResultsContext';
import { QuerySelect } from './QuerySelect';
import { useJobQueries } from './useJobQueries';
import { lineageText } from '../../results/taxonomy';

const PAGE_SIZE = 20;

export function AlignmentsTab({ job }: { job: Job }) {
  const queries = useJobQueries(job);
  const { results } = useJobResults();
  const [chosen, setChosen] = useState<number | null>(null);
  const [page, setPage] = useState<{ queryIndex: number | null; offset: number }>({ queryIndex: null, offset: 0 });
  // Queries by their place: two with the same id are two entries.
  const queryIndex = chosen ?? firstQueryIndex(queries.data);
  const offset = page.queryIndex === queryIndex ? page.offset : 0;

  const alignments = useQuery({
    queryKey: ['alignments', results.base, queryIndex, offset],
    queryFn: () => results.alignments({ query_index: queryIndex!, limit: PAGE_SIZE, offset }),
    enabled: queryIndex !== null,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });

  if (queries.data && queries.data.every((q) => q.hits === 0)) {
    return <p className="card muted" data-testid="alignments-empty">This search found no hits, so there are no alignments.</p>;
  }
  const data = alignments.data;
  return (
    <div className="stack">
      <div className="card toolbar">
        <QuerySelect queries={queries.data} program={job.program} value={queryIndex} onChange={setChosen} testId="alignment-query" />
        {alignments.isFetching && data && <span className="muted small">Loading…</span>}
      </div>
      {queries.error && <ErrorNote error={queries.error} />}
      {alignments.error && <ErrorNote error={alignments.error} testId="alignments-error" />}
      {(queries.isPending || (alignments.isPending && queryIndex !== null)) && (
        <div className="card loading" data-testid="alignments-loading">
          <span className="spinner" /> Preparing alignments… the first request for a job can take a few seconds.
        </div>
      )}
      {data?.items.map((a) => <AlignmentBlock key={`${a.subject_id}#${a.hsp_num}#${a.qstart}`} hsp={a} program={job.program} />)}
      {data && data.total === 0 && (
        <p className="card muted" data-testid="alignments-none">
          This query has no hits.
        </p>
      )}
      {data && (
        <Pager
          testId="alignments-pager"
          offset={data.offset}
          limit={PAGE_SIZE}
          total={data.total}
          onOffset={(o) => setPage({ queryIndex, offset: o })}
          noun={['HSP', 'HSPs']}
        />
      )}
    </div>
  );
}

function AlignmentBlock({ hsp, program }: { hsp: Alignment; program: ProgramName }) {
  const strand = strandOrFrame(hsp, program);
  return (
    <article className="card alignment" data-testid="alignment">
      <header>
        <h3>
          <span className="mono">{hsp.subject_id}</span> {hsp.subject_title}
        </h3>
        <div className="muted small">
          {hsp.slen != null && <>Length = {hsp.slen.toLocaleString('en-US')} · </>}HSP {hsp.hsp_num}
          {hsp.scientific_name != null && (
            <span data-testid="alignment-organism" title={lineageText(hsp)}>
              {' · '}
              {hsp.scientific_name}
            </span>
          )}
        </div>
        <div className="alignment-stats">
          <span>
            Score = {formatBits(hsp.bitscore)} bits ({hsp.score})
          </span>
          <span>Expect = {formatEvalue(hsp.evalue)}</span>
          <span>Identities = {fraction(hsp.identity, hsp.align_len)}</span>
          {hsp.positive != null && <span>Positives = {fraction(hsp.positive, hsp.align_len)}</span>}
          <span>Gaps = {fraction(hsp.gaps, hsp.align_len)}</span>
          {strand && <span>{strand}</span>}
        </div>
      </header>
      <pre className="alignment-text" data-testid="alignment-text">
        {formatAlignmentText(hsp, program)}
      </pre>
    </article>
  );
}
