// /shared/<token>: the job a share link opens, read-only and without signing in: the run summary
// and every result tab over /api/shared/<token>/..., no action that changes anything. A link
// that opens nothing (unknown, forged, revoked, expired) gets one and the same page.
import { useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../api/endpoints';
import { resultsApi, sharedBase } from '../api/results';
import { ErrorNote } from '../components/ErrorNote';
import { LivePausedBanner } from '../components/LivePausedBanner';
import { JobScreen } from '../components/job/JobScreen';
import { useJobLive, type JobFeed } from '../live/useJobLive';
import { linkRefused } from '../results/shares';

export function SharedJobPage() {
  const { token = '' } = useParams();
  return <SharedJobView key={token} token={token} />;
}

function SharedJobView({ token }: { token: string }) {
  // No push stream under a link: a running job is polled at its own cadence.
  const feed = useMemo<JobFeed>(
    () => ({ key: ['shared-job', token], fetch: () => api.sharedJob(token).then((r) => r.job), streamUrl: null }),
    [token],
  );
  const queryClient = useQueryClient();
  // A result read the link no longer opens (revoked or expired while the page is open): read
  // the job again, which turns the whole page into the invalid-link page.
  const source = useMemo(() => {
    const refused = (error: unknown) => {
      if (linkRefused(error)) void queryClient.invalidateQueries({ queryKey: feed.key, exact: true });
    };
    return { results: resultsApi(sharedBase(token), refused), shared: true };
  }, [token, feed, queryClient]);
  const { job: jobQuery, paused } = useJobLive(feed);
  const job = jobQuery.data;

  // Revoked while open counts too: the next read of the job (or of a result) says so.
  if (linkRefused(jobQuery.error)) return <ShareInvalidPage />;
  if (!job) {
    return (
      <div className="stack">
        <LivePausedBanner show={paused} />
        {jobQuery.error && !paused ? <ErrorNote error={jobQuery.error} testId="job-error" /> : <p className="muted">Loading the shared job…</p>}
      </div>
    );
  }
  return (
    <JobScreen job={job} paused={paused} source={source}>
      <p className="alert alert-info share-banner" data-testid="shared-banner">
        A read-only view of this job, opened by a share link: its results and downloads, nothing else.
      </p>
    </JobScreen>
  );
}

/** The one answer to any link that opens nothing, whatever the reason. */
export function ShareInvalidPage() {
  return (
    <section className="card narrow" data-testid="share-invalid">
      <h1>This link is not valid</h1>
      <p>
        It may have been mistyped, revoked by the job's owner, or have expired. Ask whoever sent it for a new one.
      </p>
      <p>
        <Link to="/search">BlastDeck home</Link>
      </p>
    </section>
  );
}
