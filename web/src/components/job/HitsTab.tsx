// The hits as NCBI's descriptions table: one row per query and subject, server-paged, sorted and
// filtered; a row opens to its HSPs. While the job runs it holds the batches finished so far.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Fragment, useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { Hit, HitParams, HitSort, Job, QuerySummary, SortOrder } from '../../api/types';
import { formatCount, formatEvalue, formatPercent, plural } from '../../format/text';
import { gatherHitHsps } from '../../results/hitHsps';
import { partialNote } from '../../results/partial';
import { queryName } from '../../results/queries';
import { EMPTY_SELECTION, isPicked, pageState, toggleHit, togglePage, type Selection } from '../../results/selection';
import { lineageText, organismName, parseTaxid, withoutTaxon } from '../../results/taxonomy';
import { ErrorNote } from '../ErrorNote';
import { Pager } from '../Pager';
import { FastaDownload } from './FastaDownload';
import { useJobResults } from './JobResultsContext';
import { QuerySelect } from './QuerySelect';
import { resultsVersion, useJobQueries } from './useJobQueries';

export const HITS_PAGE_SIZE = 50;
/** How often a running job's table is read again (besides on every finished batch). */
const PARTIAL_REFRESH_MS = 3000;

interface Column {
  label: string;
  /** What the number is, in full (the header's tooltip). */
  title: string;
  sort?: HitSort;
  numeric?: boolean;
}

const COLUMNS: Column[] = [
  { label: 'Description', title: "The subject's title and id", sort: 'subject_id' },
  { label: 'Organism', title: "The subject's organism, from its taxid (lineage on hover)", sort: 'organism' },
  { label: 'Query', title: 'The query, by its place in the submitted FASTA', sort: 'query' },
  { label: 'Max score', title: "The best HSP's bit score", sort: 'max_score', numeric: true },
  { label: 'Total score', title: "The sum of the hit's HSP bit scores", sort: 'total_score', numeric: true },
  { label: 'Query cover', title: "% of the query covered by the hit's HSPs (qcovs)", sort: 'qcovs', numeric: true },
  { label: 'E value', title: "The best HSP's e-value", sort: 'evalue', numeric: true },
  { label: 'Per. ident', title: "The highest % identity among the hit's HSPs", sort: 'pident', numeric: true },
  { label: 'Acc. len', title: "The subject's length", sort: 'slen', numeric: true },
  { label: 'HSPs', title: 'How many HSPs (aligned stretches) the hit has', numeric: true },
];

/** BLAST's ranking (the API's default): e-value ascending, then max score, then query order. */
const DEFAULT_SORT: HitSort = 'evalue';
const DEFAULT_ORDER: SortOrder = 'asc';

/** The natural first order of a column: best first for scores, A→Z for names. */
export function firstOrder(sort: HitSort): SortOrder {
  return sort === 'evalue' || sort === 'query' || sort === 'subject_id' || sort === 'organism' ? 'asc' : 'desc';
}

/** A filter box's number, or undefined while empty or not a number. */
function numberOrUndefined(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

const hitKey = (h: Pick<Hit, 'query_index' | 'subject_id'>) => `${h.query_index}\u0000${h.subject_id}`;

export function HitsTab({ job }: { job: Job }) {
  const [sort, setSort] = useState<HitSort>(DEFAULT_SORT);
  const [order, setOrder] = useState<SortOrder>(DEFAULT_ORDER);
  const [queryIndex, setQueryIndex] = useState<number | null>(null);
  const [identity, setIdentity] = useState('');
  const [cover, setCover] = useState('');
  const [evalue, setEvalue] = useState('');
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  // Ticked hits stay ticked across pages, sorts and filters until cleared.
  const [selection, setSelection] = useState<Selection>(EMPTY_SELECTION);
  const { results } = useJobResults();
  const filters = useDebounced({ identity, cover, evalue }, 300);
  const queries = useJobQueries(job);
  const version = resultsVersion(job);
  const running = job.status !== 'completed';
  // The organism filter lives in the URL: the Taxonomy tab opens the hits of one taxon.
  const [urlParams, setUrlParams] = useSearchParams();
  const taxid = parseTaxid(urlParams.get('taxid'));
  const taxonName = urlParams.get('taxon');

  // The page offset belongs to one sort + filter combination: any change starts at page one.
  const viewKey = JSON.stringify([sort, order, queryIndex, filters, taxid]);
  const [pageAt, setPageAt] = useState({ viewKey, offset: 0 });
  const offset = pageAt.viewKey === viewKey ? pageAt.offset : 0;
  const setOffset = (next: number) => setPageAt({ viewKey, offset: next });

  const params: HitParams = {
    // BLAST's ranking is the API's default order: ask for it by leaving the sort out.
    ...(sort === DEFAULT_SORT && order === DEFAULT_ORDER ? {} : { sort, order }),
    limit: HITS_PAGE_SIZE,
    offset,
    query_index: queryIndex ?? undefined,
    min_pident: numberOrUndefined(filters.identity),
    min_qcovs: numberOrUndefined(filters.cover),
    max_evalue: numberOrUndefined(filters.evalue),
    taxid: taxid ?? undefined,
  };
  const filtered =
    params.min_pident !== undefined || params.min_qcovs !== undefined || params.max_evalue !== undefined || queryIndex !== null || taxid !== null;
  const hits = useQuery({
    // A running job's table grows with each finished batch: `version` reads it again then.
    queryKey: ['hits', results.base, params, version],
    queryFn: () => results.hits(params),
    placeholderData: keepPreviousData,
    staleTime: Infinity, // a completed job's hits don't change
    refetchInterval: running ? PARTIAL_REFRESH_MS : false,
  });

  const clickSort = (column: HitSort) => {
    if (column === sort) setOrder(order === 'asc' ? 'desc' : 'asc');
    else {
      setSort(column);
      setOrder(firstOrder(column));
    }
  };
  const toggle = (hit: Hit) =>
    setOpen((old) => {
      const next = new Set(old);
      const key = hitKey(hit);
      if (!next.delete(key)) next.add(key);
      return next;
    });

  const page = hits.data;
  const byIndex = new Map((queries.data ?? []).map((q) => [q.query_index, q]));
  const note = page ? partialNote(page, job.status) : null;
  const shownQuery = queryIndex === null ? null : (byIndex.get(queryIndex) ?? null);
  return (
    <div className="stack">
      <div className="card toolbar">
        <QuerySelect queries={queries.data} program={job.program} value={queryIndex} onChange={setQueryIndex} allowAll testId="filter-query" />
        <label className="field field-inline">
          <span className="label">Min per. ident (%)</span>
          <input type="number" min={0} max={100} step="any" value={identity} onChange={(e) => setIdentity(e.target.value)} data-testid="filter-identity" />
        </label>
        <label className="field field-inline">
          <span className="label">Min query cover (%)</span>
          <input type="number" min={0} max={100} step="any" value={cover} onChange={(e) => setCover(e.target.value)} data-testid="filter-cover" />
        </label>
        <label className="field field-inline">
          <span className="label">Max E value</span>
          <input type="text" inputMode="decimal" placeholder="e.g. 1e-5" value={evalue} onChange={(e) => setEvalue(e.target.value)} data-testid="filter-evalue" />
        </label>
        {taxid !== null && (
          <span className="organism-filter" data-testid="filter-taxon" data-taxid={taxid}>
            <span className="label">Organism</span>
            <span>
              {taxonName ?? `taxid ${taxid}`} <span className="muted small">and below</span>
            </span>
            <button type="button" className="btn btn-small" onClick={() => setUrlParams((prev) => withoutTaxon(prev))} data-testid="filter-taxon-clear">
              All organisms
            </button>
          </span>
        )}
        {hits.isFetching && <span className="muted small">Loading…</span>}
      </div>

      {note && (
        <div
          className="alert alert-info"
          role="status"
          data-testid="hits-partial"
          data-batches-done={page?.batches_done}
          data-batches-total={page?.batches_total}
        >
          {note}
        </div>
      )}
      {hits.error && <ErrorNote error={hits.error} testId="hits-error" />}

      <FastaDownload selection={selection} onClear={() => setSelection(EMPTY_SELECTION)} query={shownQuery} />

      {page && (
        <p className="muted small" data-testid="hits-summary" data-total={page.total}>
          {plural(page.total, 'hit')}
          {filtered ? (page.total === 1 ? ' matches' : ' match') : ''} (one per query and subject)
          {!filtered && job.hsps_total > 0 ? `, ${plural(job.hsps_total, 'HSP')} in all` : ''}. Click a hit for its HSPs.
        </p>
      )}

      <div className="card table-card">
        <table className="table hits" data-testid="hits-table" aria-busy={hits.isFetching}>
          <thead>
            <tr>
              <th className="pick">
                <PageCheckbox state={page ? pageState(selection, page.items) : 'none'} disabled={!page?.items.length} onChange={() => page && setSelection((old) => togglePage(old, page.items))} />
              </th>
              <th aria-label="Show HSPs" />
              {COLUMNS.map((c) => (
                <th
                  key={c.label}
                  className={c.numeric ? 'num' : undefined}
                  title={c.title}
                  aria-sort={c.sort === sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined}
                >
                  {c.sort ? (
                    <button type="button" className="sort" onClick={() => clickSort(c.sort!)} data-testid={`sort-${c.sort}`}>
                      {c.label}
                      <span className="sort-mark">{c.sort === sort ? (order === 'asc' ? '▲' : '▼') : ''}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {page?.items.map((h) => {
              const expanded = open.has(hitKey(h));
              return (
                <Fragment key={hitKey(h)}>
                  <HitRow
                    hit={h}
                    query={byIndex.get(h.query_index)}
                    expanded={expanded}
                    onToggle={() => toggle(h)}
                    picked={isPicked(selection, h)}
                    onPick={() => setSelection((old) => toggleHit(old, h))}
                  />
                  {expanded && (
                    <tr className="hit-detail" data-testid="hit-hsps-row">
                      <td colSpan={COLUMNS.length + 2}>
                        <HitHsps hit={h} version={version} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
        {/* Status lines stay outside <tbody>: its rows are exactly the hits shown. */}
        {page && page.items.length === 0 && (
          <p className="empty" data-testid="hits-empty">
            {filtered
              ? 'No hit matches the filters.'
              : page.partial && running
                ? 'No hits yet in the batches finished so far.'
                : 'This search found no hits.'}
          </p>
        )}
        {!page && hits.isPending && <p className="empty">Loading hits…</p>}
      </div>
      {page && <Pager testId="hits-pager" offset={page.offset} limit={HITS_PAGE_SIZE} total={page.total} onOffset={setOffset} noun={['hit', 'hits']} />}
    </div>
  );
}

/** The header's "all on this page" box: checked, unchecked, or in between. */
function PageCheckbox({ state, disabled, onChange }: { state: 'none' | 'some' | 'all'; disabled: boolean; onChange: () => void }) {
  const box = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (box.current) box.current.indeterminate = state === 'some';
  }, [state]);
  return (
    <input
      ref={box}
      type="checkbox"
      checked={state === 'all'}
      disabled={disabled}
      onChange={onChange}
      aria-label="Select all hits on this page"
      title="Select all hits on this page"
      data-testid="hits-select-page"
    />
  );
}

interface HitRowProps {
  hit: Hit;
  query: QuerySummary | undefined;
  expanded: boolean;
  onToggle: () => void;
  picked: boolean;
  onPick: () => void;
}

function HitRow({ hit: h, query, expanded, onToggle, picked, onPick }: HitRowProps) {
  return (
    <tr
      className={picked ? 'clickable picked' : 'clickable'}
      onClick={onToggle}
      data-testid="hit-row"
      data-query-index={h.query_index}
      data-subject={h.subject_id}
      data-hsps={h.hsps}
    >
      <td className="pick" onClick={(e) => e.stopPropagation()}>
        <input type="checkbox" checked={picked} onChange={onPick} aria-label={`Select the hit on ${h.subject_id}`} data-testid="hit-select" />
      </td>
      <td className="expand">
        <button
          type="button"
          className="expand-toggle"
          aria-expanded={expanded}
          aria-label={`${expanded ? 'Hide' : 'Show'} the ${plural(h.hsps, 'HSP')} of ${h.subject_id}`}
          onClick={(e) => {
            e.stopPropagation();
            onToggle();
          }}
          data-testid="hit-expand"
        >
          {expanded ? '▾' : '▸'}
        </button>
      </td>
      <td className="truncate wide" title={`${h.subject_title} (${h.subject_id})`}>
        {h.subject_title || <span className="muted">no title</span>} <span className="mono muted small">{h.subject_id}</span>
      </td>
      <td className="truncate" title={lineageText(h) || organismName(h)} data-testid="hit-organism" data-taxid={h.taxid ?? ''}>
        {h.scientific_name ?? <span className="muted">{organismName(h)}</span>}
      </td>
      <td className="mono truncate" title={h.query_id}>
        {query ? queryName(query) : queryName(h)}
      </td>
      <td className="num">{h.max_score}</td>
      <td className="num">{h.total_score}</td>
      <td className="num">{h.qcovs}%</td>
      <td className="num">{formatEvalue(h.evalue)}</td>
      <td className="num">{formatPercent(h.pident)}</td>
      <td className="num">{formatCount(h.slen)}</td>
      <td className="num" data-testid="hit-hsp-count">
        {formatCount(h.hsps)}
      </td>
    </tr>
  );
}

/** One hit's HSPs: /hsps filtered to its query (by position) and subject, in BLAST's order. */
function HitHsps({ hit, version }: { hit: Hit; version: string }) {
  const { results } = useJobResults();
  const hsps = useQuery({
    queryKey: ['hit-hsps', results.base, hit.query_index, hit.subject_id, version],
    queryFn: () =>
      gatherHitHsps(
        (offset, limit) => results.hsps({ query_index: hit.query_index, subject_id: hit.subject_id, limit, offset }),
        hit.subject_id,
        hit.hsps,
      ),
    staleTime: Infinity, // a finished batch's HSPs don't change
  });
  if (hsps.error) return <ErrorNote error={hsps.error} testId="hit-hsps-error" />;
  if (!hsps.data) return <p className="muted small">Loading HSPs…</p>;
  return (
    <div className="hit-hsps">
      <p className="muted small">
        {plural(hsps.data.length, 'HSP')} of query {queryName(hit)} with {hit.subject_id}
        {hsps.data.length > 1 ? ', best first' : ''}:
      </p>
      <table className="table hsps" data-testid="hsps-table">
        <thead>
          <tr>
            <th className="num" title="The HSP's place in BLAST's order within the hit">HSP</th>
            <th className="num" title="Bit score">Bit score</th>
            <th className="num">E value</th>
            <th className="num" title="% identity over the alignment">Identity</th>
            <th className="num" title="Alignment length, gaps included">Align. len</th>
            <th className="num">Mismatches</th>
            <th className="num">Gap opens</th>
            <th className="num" title="Query positions (start–end)">Query</th>
            <th className="num" title="Subject positions (start–end; end below start: minus strand)">Subject</th>
            <th className="num" title="% of the query this HSP covers (qcovhsp)">Query cover</th>
          </tr>
        </thead>
        <tbody>
          {hsps.data.map((s, i) => (
            <tr key={i} data-testid="hsp-row">
              <td className="num">{i + 1}</td>
              <td className="num">{s.bitscore}</td>
              <td className="num">{formatEvalue(s.evalue)}</td>
              <td className="num">{formatPercent(s.pident)}</td>
              <td className="num">{formatCount(s.length)}</td>
              <td className="num">{formatCount(s.mismatch)}</td>
              <td className="num">{formatCount(s.gapopen)}</td>
              <td className="num nowrap">
                {formatCount(s.qstart)}–{formatCount(s.qend)}
              </td>
              <td className="num nowrap">
                {formatCount(s.sstart)}–{formatCount(s.send)}
              </td>
              <td className="num">{s.qcovhsp}%</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
