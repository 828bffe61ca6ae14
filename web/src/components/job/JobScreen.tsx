// A job as its page shows it: the header (with the caller's actions), the tabs and the panels.
// The job page (its owner) and the share-link page (anyone holding the link) both render this;
// they differ in where the job and its results are read from and in the actions they pass.
import { useEffect, useRef, type ReactNode } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { Job } from '../../api/types';
import { formatCount, formatDateTime, plural, shortId } from '../../format/text';
import { usePhaseLog } from '../../live/phaseLog';
import { TABS, chooseTab, parseTab, tabAvailable, type Tab } from '../../pages/jobTabs';
import { filterText } from '../../search/taxa';
import { LivePausedBanner } from '../LivePausedBanner';
import { StatusBadge } from '../StatusBadge';
import { AlignmentsTab } from './AlignmentsTab';
import { DownloadsTab } from './DownloadsTab';
import { GraphicTab } from './GraphicTab';
import { HitsTab } from './HitsTab';
import { JobResultsProvider, type JobResults } from './JobResultsContext';
import { RunTab } from './RunTab';
import { TaxonomyTab } from './TaxonomyTab';

const TAB_LABELS: Record<Tab, string> = {
  run: 'Run',
  hits: 'Hits',
  taxonomy: 'Taxonomy',
  alignments: 'Alignments',
  graphic: 'Graphic',
  downloads: 'Downloads',
};

interface Props {
  job: Job;
  paused: boolean;
  source: JobResults;
  /** Buttons beside the status (the owner's cancel, duplicate, share); none on a shared page. */
  actions?: ReactNode;
  /** Shown between the header and the tabs (errors of the actions, the share panel). */
  children?: ReactNode;
}

export function JobScreen({ job, paused, source, actions, children }: Props) {
  const [params, setParams] = useSearchParams();
  usePhaseLog(job.id, job.phase);
  useSwitchToHitsOnCompletion(job, setParams);

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
    <JobResultsProvider value={source}>
      <div className="stack" data-testid="job-page" data-job-id={job.id} data-shared={source.shared ? 'true' : undefined}>
        <LivePausedBanner show={paused} />
        <JobHeader job={job} actions={actions} />
        {children}

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
          <RunTab job={job} shared={source.shared} />
        </div>
        {tab !== 'run' && (
          <div role="tabpanel" data-testid={`panel-${tab}`}>
            {tab === 'hits' && <HitsTab job={job} />}
            {tab === 'taxonomy' && <TaxonomyTab job={job} />}
            {tab === 'alignments' && <AlignmentsTab job={job} />}
            {tab === 'graphic' && <GraphicTab job={job} />}
            {tab === 'downloads' && <DownloadsTab />}
          </div>
        )}
      </div>
    </JobResultsProvider>
  );
}

function JobHeader({ job, actions }: { job: Job; actions: ReactNode }) {
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
              <dt>{(job.databases ?? []).length > 1 ? 'Databases' : 'Database'}</dt>
              <dd data-testid="job-database">{(job.databases?.length ? job.databases : [job.database]).join(' + ')}</dd>
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
            {job.taxon_filter && (
              <div>
                <dt>Organisms</dt>
                <dd data-testid="job-organisms">{filterText(job.taxon_filter)}</dd>
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
          {actions && <div className="row gap-small">{actions}</div>}
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
