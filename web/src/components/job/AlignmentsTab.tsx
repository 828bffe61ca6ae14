// Pairwise alignments of one query, BLAST style, a page at a time.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/endpoints';
import type { Alignment, Job, ProgramName } from '../../api/types';
import { formatAlignmentText, formatBits, fraction, strandOrFrame } from '../../format/alignment';
import { formatEvalue } from '../../format/text';
import { ErrorNote } from '../ErrorNote';
import { Pager } from '../Pager';
import { QuerySelect } from './QuerySelect';
import { useJobQueries } from './useJobQueries';

const PAGE_SIZE = 20;

export function AlignmentsTab({ job }: { job: Job }) {
  const queries = useJobQueries(job.id);
  const [chosen, setChosen] = useState('');
  const [page, setPage] = useState({ queryId: '', offset: 0 });
  const queryId = chosen || queries.data?.[0]?.query_id || '';
  const offset = page.queryId === queryId ? page.offset : 0;

  const alignments = useQuery({
    queryKey: ['alignments', job.id, queryId, offset],
    queryFn: () => api.alignments(job.id, { query_id: queryId, limit: PAGE_SIZE, offset }),
    enabled: !!queryId,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });

  if (queries.data && queries.data.length === 0) {
    return <p className="card muted" data-testid="alignments-empty">This search found no hits, so there are no alignments.</p>;
  }
  const data = alignments.data;
  return (
    <div className="stack">
      <div className="card toolbar">
        <QuerySelect queries={queries.data} value={queryId} onChange={setChosen} testId="alignment-query" />
        {alignments.isFetching && data && <span className="muted small">Loading…</span>}
      </div>
      {queries.error && <ErrorNote error={queries.error} />}
      {alignments.error && <ErrorNote error={alignments.error} testId="alignments-error" />}
      {(queries.isPending || (alignments.isPending && !!queryId)) && (
        <div className="card loading" data-testid="alignments-loading">
          <span className="spinner" /> Preparing alignments… the first request for a job can take a few seconds.
        </div>
      )}
      {data?.items.map((a) => <AlignmentBlock key={`${a.subject_id}#${a.hsp_num}#${a.qstart}`} hsp={a} program={job.program} />)}
      {data && <Pager testId="alignments-pager" offset={data.offset} limit={PAGE_SIZE} total={data.total} onOffset={(o) => setPage({ queryId, offset: o })} />}
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
