// One job: live header and Run tab; its hits while it runs (partial), every result tab once it completed.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { isNotFound } from '../api/client';
import { api } from '../api/endpoints';
import type { Job } from '../api/types';
import { ErrorNote } from '../components/ErrorNote';
import { LivePausedBanner } from '../components/LivePausedBanner';
import { StatusBadge } from '../components/StatusBadge';
import { AlignmentsTab } from '../components/job/AlignmentsTab';
import { DownloadsTab } from '../components/job/DownloadsTab';
import { GraphicTab } from '../components/job/GraphicTab';
import { HitsTab } from '../components/job/HitsTab';
import { RunTab } from '../components/job/RunTab';
import { TaxonomyTab } from '../components/job/TaxonomyTab';
import { formatCount, formatDateTime, plural, shortId } from '../format/text';
import { isActiveJob } from '../live/polling';
import { usePhaseLog } from '../live/phaseLog';
import { jobKey, useJobLive } from '../live/useJobLive';
import { NotFoundPage } from './NotFoundPage';
import { cancelQuestion } from './jobActions';
import { TABS, chooseTab, parseTab, tabAvailable, type Tab } from './jobTabs';

const TAB_LABELS: Record<Tab, string> = {
  run: 'Run',
  hits: 'Hits',
  taxonomy: 'Taxonomy',
  alignments: 'Alignments',
  graphic: 'Graphic',
  downloads: 'Downloads',
};

export function JobPage() {
  const { id = '' } = useParams();
  // A fresh page state (stream, event log, tab memory) for every job.
  return <JobView key={id} id={id} />;
}

function JobView({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const { job: jobQuery, paused } = useJobLive(id);
  const job = jobQuery.data;

  usePhaseLog(id, job?.phase);
  useSwitchToHitsOnCompletion(job, setParams);

  const cancel = useMutation({
    mutationFn: () => api.cancel(id),
    onSuccess: (updated) => queryClient.setQueryData(jobKey(id), updated),
  });
  const confirmCancel = (j: Job) => {
    if (window.confirm(cancelQuestion(j))) cancel.mutate();
  };

  if (!job) {
    if (isNotFound(jobQuery.error)) return <NotFoundPage what="job" />;
    return (
      <div className="stack">
        <LivePausedBanner show={paused} />
        {jobQuery.error && !paused ? <ErrorNote error={jobQuery.error} testId="job-error" /> : <p className="muted">Loading job…</p>}
      </div>
    );
  }

  const tab = chooseTab(parseTab(params.get('tab')), job.status);
  const selectTab = (next: Tab) =>
    setParams(
      (prev) => {
        const p = new URLSearchParams(prev);
        p.set('tab', next);
        return p;
      },
      { replace: false },
    );

  return (
    <div className="stack" data-testid="job-page" data-job-id={job.id}>
      <LivePausedBanner show={paused} />
      <JobHeader job={job} onCancel={() => confirmCancel(job)} cancelling={cancel.isPending} />
      {cancel.error && <ErrorNote error={cancel.error} testId="cancel-error" />}

      <div className="tabs" role="tablist">
        {TABS.map((t) => {
          const disabled = !tabAvailable(t, job.status);
          return (
            <button
              key={t}
              type="button"
              role="tab"
              aria-selected={tab === t}
              className={tab === t ? 'tab active' : 'tab'}
              disabled={disabled}
              title={disabled ? (t === 'hits' ? 'Available once BLAST runs' : 'Available once the job has completed') : undefined}
              onClick={() => selectTab(t)}
              data-testid={`tab-${t}`}
            >
              {TAB_LABELS[t]}
              {t === 'hits' && job.hits_total != null ? (
                <span className="tab-count" title={plural(job.hits_total, 'hit')} data-testid="hits-count">
                  {formatCount(job.hits_total)}
                </span>
              ) : null}
            </button>
          );
        })}
      </div>

      {/* The Run panel stays mounted (hidden) so its event log is kept, not refetched, and
          the step badges remain readable after the switch to Hits. */}
      <div role="tabpanel" hidden={tab !== 'run'} data-testid="panel-run">
        <RunTab job={job} />
      </div>
      {tab !== 'run' && (
        <div role="tabpanel" data-testid={`panel-${tab}`}>
          {tab === 'hits' && <HitsTab job={job} />}
          {tab === 'taxonomy' && <TaxonomyTab job={job} />}
          {tab === 'alignments' && <AlignmentsTab job={job} />}
          {tab === 'graphic' && <GraphicTab job={job} />}
          {tab === 'downloads' && <DownloadsTab job={job} />}
        </div>
      )}
    </div>
  );
}

function JobHeader({ job, onCancel, cancelling }: { job: Job; onCancel: () => void; cancelling: boolean }) {
  const active = isActiveJob(job);
  return (
    <section className="card job-header">
      <div className="row space-between align-start">
        <div>
          <h1 className="job-title" data-testid="job-title">
            {job.title || `Job ${shortId(job.id)}`}
          </h1>
          <dl className="facts">
            <div>
              <dt>Job</dt>
              <dd className="mono" data-testid="job-id">
                {job.id}
              </dd>
            </div>
            <div>
              <dt>Program</dt>
              <dd data-testid="job-program">{job.program}</dd>
            </div>
            <div>
              <dt>Database</dt>
              <dd data-testid="job-database">{job.database}</dd>
            </div>
            {job.source === 'imported' ? (
              <div>
                <dt>Source</dt>
                <dd data-testid="job-source">imported: BLAST ran elsewhere</dd>
              </div>
            ) : (
              <div>
                <dt>Cluster / namespace</dt>
                <dd data-testid="job-cluster">
                  {job.cluster} / {job.namespace}
                </dd>
              </div>
            )}
            <div>
              <dt>Queries</dt>
              <dd data-testid="job-queries">
                {plural(job.query_count, 'query', 'queries')} ({plural(job.query_letters, 'letter')})
              </dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>{formatDateTime(job.created_at)}</dd>
            </div>
          </dl>
        </div>
        <div className="job-status-box">
          <StatusBadge status={job.status} testId="job-status" />
          {/* The phase is shown only where it says more than the status ("completed" once, not
              twice); the element stays, hidden, as the page's phase hook (bench/web.py). */}
          <code className="phase" data-testid="job-phase" title="pipeline phase" hidden={job.phase === job.status}>
            {job.phase}
          </code>
          <div className="row gap-small">
            {active && (
              <button type="button" className="btn btn-danger" onClick={onCancel} disabled={cancelling || job.phase === 'cancelling'} data-testid="cancel-job">
                {job.phase === 'cancelling' ? 'Cancelling…' : 'Cancel'}
              </button>
            )}
            {job.source !== 'imported' && ( // an imported job has no query to search again
              <Link className="btn" to={`/search?from=${encodeURIComponent(job.id)}`} data-testid="duplicate-job">
                Duplicate
              </Link>
            )}
          </div>
        </div>
      </div>
    </section>
  );
}

/** Exactly once, when this page sees the job go from not-completed to completed, open Hits. */
function useSwitchToHitsOnCompletion(job: Job | undefined, setParams: ReturnType<typeof useSearchParams>[1]) {
  const previous = useRef<Job['status'] | undefined>(undefined);
  const switched = useRef(false);
  const status = job?.status;
  useEffect(() => {
    const before = previous.current;
    previous.current = status;
    if (switched.current || before === undefined || status === undefined) return;
    if (before !== 'completed' && status === 'completed') {
      switched.current = true;
      setParams(
        (prev) => {
          const p = new URLSearchParams(prev);
          p.set('tab', 'hits');
          return p;
        },
        { replace: true },
      );
    }
  }, [status, setParams]);
}
