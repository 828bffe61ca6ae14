// All jobs: server-side status filter, search and paging; refreshes while any row is live.
import { useSession } from '../auth/session';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type MouseEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { isTransient } from '../api/client';
import { api } from '../api/endpoints';
import type { Job, JobStatus } from '../api/types';
import { ErrorNote } from '../components/ErrorNote';
import { ImportResultButton } from '../components/job/ImportResultButton';
import { LivePausedBanner } from '../components/LivePausedBanner';
import { Pager } from '../components/Pager';
import { StatusBadge } from '../components/StatusBadge';
import { formatCount, formatDateTime, formatDuration, jobDurationMs, plural, shortId } from '../format/text';
import { LIST_POLL_MS, isActiveJob, listRefetchInterval } from '../live/polling';
import { useNow } from '../live/useNow';
import { cancelQuestion, deleteQuestion } from './jobActions';
import { refetchAfterChange } from '../api/queryClient';

const PAGE_SIZE = 25;
const STATUSES: Array<JobStatus | ''> = ['', 'queued', 'running', 'completed', 'failed', 'cancelled'];

export function JobsPage() {
  const navigate = useNavigate();
  const { session } = useSession();
  const showOwner = session?.user?.admin === true; // admins see everyone's jobs: say whose
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const rawStatus = params.get('status') ?? '';
  const status = (STATUSES as string[]).includes(rawStatus) ? (rawStatus as JobStatus | '') : '';
  const q = params.get('q') ?? '';
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);
  const [searchText, setSearchText] = useState(q);

  // Typing updates the URL (and so the server query) after a short pause.
  useEffect(() => {
    if (searchText === q) return undefined;
    const timer = setTimeout(() => setParam({ q: searchText, offset: '' }), 300);
    return () => clearTimeout(timer);
  }, [searchText]); // only typing (not other URL changes) re-arms the timer

  function setParam(changes: Record<string, string>) {
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(changes)) {
          if (v) next.set(k, v);
          else next.delete(k);
        }
        return next;
      },
      { replace: true },
    );
  }

  const list = useQuery({
    queryKey: ['jobs', { status, q, offset }],
    queryFn: () => api.jobs({ status: status || undefined, q, limit: PAGE_SIZE, offset }),
    placeholderData: keepPreviousData,
    retry: false, // the interval below is the retry
    refetchInterval: (query) => {
      if (query.state.error && isTransient(query.state.error)) return LIST_POLL_MS;
      return listRefetchInterval(query.state.data?.items);
    },
  });

  const invalidate = () => refetchAfterChange(queryClient, ['jobs']);
  const cancel = useMutation({ mutationFn: api.cancel, onSettled: invalidate });
  const remove = useMutation({ mutationFn: api.remove, onSettled: invalidate });
  const actionError = cancel.error ?? remove.error;

  const items = list.data?.items ?? [];
  const now = useNow(items.some(isActiveJob), 1000);
  const paused = !!list.error && isTransient(list.error);

  const stop = (e: MouseEvent) => e.stopPropagation();

  return (
    <div className="stack">
      <div className="row space-between">
        <h1>Jobs</h1>
        <div className="row">
          <ImportResultButton />
          <Link to="/search" className="btn btn-primary">
            New search
          </Link>
        </div>
      </div>
      <LivePausedBanner show={paused} what="Job list updates" />
      {actionError && <ErrorNote error={actionError} testId="jobs-action-error" />}

      <div className="card toolbar">
        <div className="segmented" role="group" aria-label="Filter by status" data-testid="status-filter">
          {STATUSES.map((s) => (
            <button
              key={s || 'all'}
              type="button"
              className={s === status ? 'active' : ''}
              aria-pressed={s === status}
              data-testid={`status-filter-${s || 'all'}`}
              data-value={s || 'all'}
              onClick={() => setParam({ status: s, offset: '' })}
            >
              {s || 'all'}
            </button>
          ))}
        </div>
        <input
          type="search"
          className="search-box"
          placeholder="Search title, id, program, database…"
          value={searchText}
          onChange={(e) => setSearchText(e.target.value)}
          data-testid="jobs-search"
          aria-label="Search jobs"
        />
      </div>

      {list.error && !paused && <ErrorNote error={list.error} testId="jobs-error" />}

      <div className="card table-card">
        <table className="table jobs-table" data-testid="jobs-table">
          <thead>
            <tr>
              <th>Job</th>
              <th>Title</th>
              <th className="wide-only">Program</th>
              <th className="wide-only">Database</th>
              {showOwner && (
                <th className="wide-only" title="Who submitted the job">
                  Owner
                </th>
              )}
              <th className="num roomy-only" title="Sequences in the job's query">
                Queries
              </th>
              <th className="num wide-only" title="Hits (one per query and subject), counted once the job has completed">
                Hits
              </th>
              <th>Status</th>
              <th className="roomy-only">Created</th>
              <th className="num roomy-only">Duration</th>
              <th className="actions">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((job) => (
              <JobRow
                key={job.id}
                job={job}
                now={now}
                showOwner={showOwner}
                onOpen={() => navigate(`/jobs/${job.id}`)}
                onCancel={(e) => {
                  stop(e);
                  if (window.confirm(cancelQuestion(job))) cancel.mutate(job.id);
                }}
                onDelete={(e) => {
                  stop(e);
                  if (window.confirm(deleteQuestion(job))) remove.mutate(job.id);
                }}
                onDuplicate={(e) => {
                  stop(e);
                  navigate(`/search?from=${encodeURIComponent(job.id)}`);
                }}
              />
            ))}
          </tbody>
        </table>
        {/* Status lines stay outside <tbody>: its rows are exactly the jobs listed. */}
        {list.data && items.length === 0 && (
          <p className="empty" data-testid="jobs-empty">
            {status || q ? 'No job matches.' : 'No jobs yet.'} <Link to="/search">Start a search</Link>
          </p>
        )}
        {list.isPending && <p className="empty">Loading…</p>}
      </div>
      {list.data && (
        <Pager
          testId="jobs-pager"
          offset={list.data.offset}
          limit={PAGE_SIZE}
          total={list.data.total}
          onOffset={(next) => setParam({ offset: next ? String(next) : '' })}
          noun={['job', 'jobs']}
        />
      )}
    </div>
  );
}

interface RowProps {
  job: Job;
  now: number;
  showOwner: boolean;
  onOpen: () => void;
  onCancel: (e: MouseEvent) => void;
  onDelete: (e: MouseEvent) => void;
  onDuplicate: (e: MouseEvent) => void;
}

function JobRow({ job, now, showOwner, onOpen, onCancel, onDelete, onDuplicate }: RowProps) {
  const active = isActiveJob(job);
  return (
    <tr className="clickable" onClick={onOpen} data-testid="job-row" data-job-id={job.id} data-status={job.status}>
      <td>
        <Link to={`/jobs/${job.id}`} onClick={(e) => e.stopPropagation()} className="mono" title={job.id}>
          {shortId(job.id)}
        </Link>
      </td>
      <td className="truncate" title={job.title ?? ''}>
        {job.title}
      </td>
      <td className="wide-only">{job.program}</td>
      <td className="wide-only">{(job.databases?.length ? job.databases : [job.database]).join(' + ')}</td>
      {showOwner && (
        <td className="wide-only" data-testid="job-row-owner">{job.owner ?? <span className="muted">no account</span>}</td>
      )}
      <td className="num roomy-only" data-testid="job-row-queries" title={plural(job.query_count, 'query', 'queries')}>
        {formatCount(job.query_count)}
      </td>
      <td
        className="num wide-only"
        data-testid="job-row-hits"
        title={job.hits_total == null ? 'counted once the job has completed' : plural(job.hits_total, 'hit')}
      >
        {job.hits_total == null ? <span className="muted">—</span> : formatCount(job.hits_total)}
      </td>
      <td>
        <StatusBadge status={job.status} testId="job-row-status" />
      </td>
      <td className="nowrap roomy-only created">{formatDateTime(job.created_at)}</td>
      <td className="num nowrap roomy-only">{formatDuration(jobDurationMs(job, now))}</td>
      <td className="actions nowrap">
        {active && (
          <button type="button" className="btn btn-small" onClick={onCancel} data-testid="cancel-job" disabled={job.phase === 'cancelling'}>
            Cancel
          </button>
        )}
        {!active && (
          <button type="button" className="btn btn-small btn-danger" onClick={onDelete} data-testid="delete-job">
            Delete
          </button>
        )}
        <button type="button" className="btn btn-small" onClick={onDuplicate} data-testid="duplicate-job">
          Duplicate
        </button>
      </td>
    </tr>
  );
}
