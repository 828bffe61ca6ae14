// The pipeline as it happens: eight steps, batch progress, the job's error and its event log.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/endpoints';
import type { Job } from '../../api/types';
import { formatDuration } from '../../format/text';
import { formatRemaining, runTiming } from '../../live/eta';
import { isActiveJob } from '../../live/polling';
import { deriveSteps, stepElapsedMs, type StepView } from '../../live/steps';
import { useNow } from '../../live/useNow';
import { EventLog } from './EventLog';
import { NotificationsCard } from './NotificationsCard';

/** `shared`: read through a share link, which offers the steps but not the commands or the event log. */
export function RunTab({ job, shared = false }: { job: Job; shared?: boolean }) {
  const steps = deriveSteps(job);
  const live = isActiveJob(job);
  const now = useNow(live || steps.some((s) => s.ticking));
  const { batches_done: done, batches_total: total } = job.progress;
  const timing = runTiming(job, now);
  const failedStepShown = steps.some((s) => s.state === 'failed');

  return (
    <div className="stack">
      {job.status === 'failed' && !failedStepShown && (
        <div className="alert alert-error" role="alert" data-testid="job-failure">
          {job.error ?? 'The job failed.'} {job.error_code && <code className="error-code">{job.error_code}</code>}
        </div>
      )}
      {job.status === 'cancelled' && (
        <div className="alert alert-info" data-testid="job-cancelled">
          This job was cancelled.
        </div>
      )}

      <section className="card">
        <ol className="steps" data-testid="steps">
          {steps.map((step) => (
            <StepItem key={step.key} step={step} elapsed={stepElapsedMs(step, now)} />
          ))}
        </ol>
        {job.status === 'running' && total > 0 && (
          <div className="progress" data-testid="batch-progress" data-done={done} data-total={total}>
            <div className="progress-label">
              {total === 1
                ? "One BLAST process for the whole job (it fits one of BLAST's own query batches): done when it finishes"
                : `Batches done: ${done} of ${total}`}
            </div>
            <progress max={total} value={done} aria-label="BLAST batches done" />
          </div>
        )}
        {live && <TimingLine timing={timing} />}
      </section>

      {!shared && configured(job) && <ConfigPreview jobId={job.id} />}
      {!shared && <NotificationsCard job={job} />}
      {!shared && <EventLog job={job} />}
    </div>
  );
}

function configured(job: Job): boolean {
  return job.steps.some((s) => s.key === 'configuring' && s.status === 'completed');
}

/** The exact commands (and SLURM script) the Configure step wrote; fetched when opened. */
function ConfigPreview({ jobId }: { jobId: string }) {
  const [open, setOpen] = useState(false);
  const config = useQuery({
    queryKey: ['job-config', jobId],
    queryFn: () => api.jobConfig(jobId),
    enabled: open,
    staleTime: Infinity, // written once by Configure
  });
  return (
    <details className="card" data-testid="config-preview" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Configuration: the exact commands this job runs</summary>
      {config.isPending && open && <p className="muted">Loading…</p>}
      {config.error && <p className="alert alert-error">{String(config.error)}</p>}
      {config.data && (
        <pre className="config-text" data-testid="config-text">
          {config.data}
        </pre>
      )}
    </details>
  );
}

/** How long the job has run and, from its batches, about how long BLAST has left. */
function TimingLine({ timing }: { timing: ReturnType<typeof runTiming> }) {
  const { jobElapsedMs, runElapsedMs, remainingMs, batchesDone, batchesTotal } = timing;
  return (
    <p className="timing muted small" data-testid="run-timing">
      {jobElapsedMs != null && (
        <span data-testid="job-elapsed">Since submission: {formatDuration(jobElapsedMs)}</span>
      )}
      {runElapsedMs != null && (
        <>
          {' · '}
          <span data-testid="run-elapsed">BLAST Run: {formatDuration(runElapsedMs)}</span>
          {' · '}
          <span data-testid="time-left">
            {remainingMs != null
              ? `Time left: ${formatRemaining(remainingMs)} (from ${batchesDone} of ${batchesTotal} batches done)`
              : batchesTotal === 1 && batchesDone === 0
                ? 'Time left: not estimated (one BLAST process: no batch finishes before the job)'
                : batchesDone < batchesTotal
                  ? 'Time left: estimated once a batch finishes'
                  : 'Time left: finishing'}
          </span>
        </>
      )}
    </p>
  );
}

const ICONS: Record<StepView['state'], string> = {
  completed: '✓',
  active: '',
  waiting: '⏳',
  skipped: '↷',
  failed: '✕',
  cancelled: '⊘',
  pending: '○',
};

function StepItem({ step, elapsed }: { step: StepView; elapsed: number | null }) {
  return (
    <li className={`step step-${step.state}${step.interrupted ? ' step-interrupted' : ''}`} data-testid={`step-${step.key}`} data-state={step.state}>
      <span className="step-icon" aria-hidden="true">
        {step.spinner ? <span className="spinner" data-testid={`step-spinner-${step.key}`} /> : ICONS[step.state]}
      </span>
      <span className="step-label">{step.label}</span>
      <span className="step-duration" data-testid={`step-duration-${step.key}`}>
        {elapsed != null && step.state !== 'pending' && step.state !== 'skipped' ? formatDuration(elapsed) : ''}
      </span>
      <span className={`badge badge-step-${step.state}`} data-testid={`step-badge-${step.key}`}>
        {step.badge}
      </span>
      {step.detail && (
        <div className="step-detail" data-testid={`step-detail-${step.key}`}>
          {step.detail}
          {step.errorCode && (
            <>
              {' '}
              <code className="error-code">{step.errorCode}</code>
            </>
          )}
        </div>
      )}
    </li>
  );
}
