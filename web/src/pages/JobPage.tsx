// One job, as its owner sees it: live header and Run tab; its hits while it runs (partial), every
// result tab once it completed; cancel, duplicate, and share links.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { isNotFound } from '../api/client';
import { api } from '../api/endpoints';
import { ownedBase, resultsApi } from '../api/results';
import type { Job } from '../api/types';
import { ErrorNote } from '../components/ErrorNote';
import { LivePausedBanner } from '../components/LivePausedBanner';
import { JobScreen } from '../components/job/JobScreen';
import { SharePanel } from '../components/job/SharePanel';
import { isActiveJob } from '../live/polling';
import { jobKey, ownedJobFeed, useJobLive } from '../live/useJobLive';
import { NotFoundPage } from './NotFoundPage';
import { cancelQuestion } from './jobActions';

export function JobPage() {
  const { id = '' } = useParams();
  // A fresh page state (stream, event log, tab memory) for every job.
  return <JobView key={id} id={id} />;
}

function JobView({ id }: { id: string }) {
  const queryClient = useQueryClient();
  const feed = useMemo(() => ownedJobFeed(id), [id]);
  const source = useMemo(() => ({ results: resultsApi(ownedBase(id)), shared: false }), [id]);
  const { job: jobQuery, paused } = useJobLive(feed);
  const job = jobQuery.data;
  const [sharing, setSharing] = useState(false);

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

  const actions = (
    <>
      {isActiveJob(job) && (
        <button
          type="button"
          className="btn btn-danger"
          onClick={() => confirmCancel(job)}
          disabled={cancel.isPending || job.phase === 'cancelling'}
          data-testid="cancel-job"
        >
          {job.phase === 'cancelling' ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {job.source !== 'imported' && ( // an imported job has no query to search again
        <Link className="btn" to={`/search?from=${encodeURIComponent(job.id)}`} data-testid="duplicate-job">
          Duplicate
        </Link>
      )}
      <button type="button" className="btn" aria-expanded={sharing} onClick={() => setSharing(!sharing)} data-testid="share-job">
        Share
      </button>
    </>
  );
  return (
    <JobScreen job={job} paused={paused} source={source} actions={actions}>
      {cancel.error && <ErrorNote error={cancel.error} testId="cancel-error" />}
      {sharing && <SharePanel jobId={job.id} />}
    </JobScreen>
  );
}
