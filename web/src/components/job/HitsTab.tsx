// Server-paged, server-sorted hit table with filters; never loads more than one page.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type HitParams } from '../../api/endpoints';
import type { HitSort, Job } from '../../api/types';
import { formatEvalue, formatPercent } from '../../format/text';
import { ErrorNote } from '../ErrorNote';
import { Pager } from '../Pager';
import { QuerySelect } from './QuerySelect';
import { useJobQueries } from './useJobQueries';

export const HITS_PAGE_SIZE = 50;

interface Column {
  label: string;
  sort?: HitSort;
  numeric?: boolean;
}

const COLUMNS: Column[] = [
  { label: 'Query', sort: 'query' },
  { label: 'Subject', sort: 'subject_id' },
  { label: 'Description' },
  { label: '% identity', sort: 'pident', numeric: true },
  { label: 'Query cover', sort: 'qcovhsp', numeric: true },
  { label: 'E-value', sort: 'evalue', numeric: true },
  { label: 'Bit score', sort: 'bitscore', numeric: true },
  { label: 'Align. length', sort: 'length', numeric: true },
];

/** The natural first order of a column: best first for scores, A→Z for names. */
function firstOrder(sort: HitSort): 'asc' | 'desc' {
  return sort === 'evalue' || sort === 'query' || sort === 'subject_id' ? 'asc' : 'desc';
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

export function HitsTab({ job }: { job: Job }) {
  const [sort, setSort] = useState<HitSort>('evalue');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const [queryId, setQueryId] = useState('');
  const [identity, setIdentity] = useState('');
  const [cover, setCover] = useState('');
  const [evalue, setEvalue] = useState('');
  const filters = useDebounced({ identity, cover, evalue }, 300);
  const queries = useJobQueries(job.id);

  // The page offset belongs to one sort + filter combination: any change starts at page one.
  const viewKey = JSON.stringify([sort, order, queryId, filters]);
  const [pageAt, setPageAt] = useState({ viewKey, offset: 0 });
  const offset = pageAt.viewKey === viewKey ? pageAt.offset : 0;
  const setOffset = (next: number) => setPageAt({ viewKey, offset: next });

  const params: HitParams = {
    sort,
    order,
    limit: HITS_PAGE_SIZE,
    offset,
    query_id: queryId || undefined,
    min_pident: numberOrUndefined(filters.identity),
    min_qcovhsp: numberOrUndefined(filters.cover),
    max_evalue: numberOrUndefined(filters.evalue),
  };
  const hits = useQuery({
    queryKey: ['hits', job.id, params],
    queryFn: () => api.hits(job.id, params),
    placeholderData: keepPreviousData,
    staleTime: Infinity, // a completed job's hits don't change
  });

  const clickSort = (column: HitSort) => {
    if (column === sort) setOrder(order === 'asc' ? 'desc' : 'asc');
    else {
      setSort(column);
      setOrder(firstOrder(column));
    }
  };

  const page = hits.data;
  return (
    <div className="stack">
      <div className="card toolbar">
        <QuerySelect queries={queries.data} value={queryId} onChange={setQueryId} allowAll testId="filter-query" />
        <label className="field field-inline">
          <span className="label">Min % identity</span>
          <input type="number" min={0} max={100} step="any" value={identity} onChange={(e) => setIdentity(e.target.value)} data-testid="filter-identity" />
        </label>
        <label className="field field-inline">
          <span className="label">Min query cover %</span>
          <input type="number" min={0} max={100} step="any" value={cover} onChange={(e) => setCover(e.target.value)} data-testid="filter-cover" />
        </label>
        <label className="field field-inline">
          <span className="label">Max e-value</span>
          <input type="text" inputMode="decimal" placeholder="e.g. 1e-5" value={evalue} onChange={(e) => setEvalue(e.target.value)} data-testid="filter-evalue" />
        </label>
        {hits.isFetching && <span className="muted small">Loading…</span>}
      </div>

      {hits.error && <ErrorNote error={hits.error} testId="hits-error" />}

      <div className="card table-card">
        <table className="table hits" data-testid="hits-table" aria-busy={hits.isFetching}>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.label} className={c.numeric ? 'num' : undefined} aria-sort={c.sort === sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
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
            {page?.items.map((h, i) => (
              <tr key={`${page.offset + i}`} data-testid="hit-row">
                <td className="mono truncate" title={h.query_id}>
                  {h.query_id}
                </td>
                <td className="mono truncate" title={h.subject_id}>
                  {h.subject_id}
                </td>
                <td className="truncate wide" title={h.subject_title}>
                  {h.subject_title}
                </td>
                <td className="num">{formatPercent(h.pident)}</td>
                <td className="num">{formatPercent(h.qcovhsp)}</td>
                <td className="num">{formatEvalue(h.evalue)}</td>
                <td className="num">{h.bitscore}</td>
                <td className="num">{h.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {/* Status lines stay outside <tbody>: its rows are exactly the hits shown. */}
        {page && page.items.length === 0 && (
          <p className="empty" data-testid="hits-empty">
            {page.total === 0 && job.hits_total === 0 ? 'This search found no hits.' : 'No hit matches the filters.'}
          </p>
        )}
        {!page && hits.isPending && <p className="empty">Loading hits…</p>}
      </div>
      {page && <Pager testId="hits-pager" offset={page.offset} limit={HITS_PAGE_SIZE} total={page.total} onOffset={setOffset} />}
    </div>
  );
}
