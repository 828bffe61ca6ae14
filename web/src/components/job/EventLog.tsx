// Append-only log of what happened to the job, newest last.
import type { Job } from '../../api/types';
import { useEventLog } from '../../live/useEventLog';

function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function EventLog({ job }: { job: Job }) {
  // The payload changes whenever the job does: updated_at + phase mark a change.
  const { events, failed } = useEventLog(job.id, `${job.updated_at}|${job.phase}|${job.progress.batches_done}`);
  return (
    <section className="card">
      <h2>Event log</h2>
      {failed && <p className="muted">Could not load new events; will retry on the next change.</p>}
      <ol className="event-log" data-testid="event-log">
        {events.map((e) => (
          <li key={e.id} className={`event event-${e.kind}${e.error_code ? ' event-error' : ''}`} data-testid="event" data-kind={e.kind}>
            <time dateTime={e.at}>{clock(e.at)}</time>
            <span className="event-kind">{e.kind}</span>
            {e.step && <span className="event-step">{e.step}</span>}
            <span className="event-message">{e.message}</span>
            {e.error_code && <code className="error-code">{e.error_code}</code>}
          </li>
        ))}
        {events.length === 0 && !failed && <li className="muted">No events yet.</li>}
      </ol>
    </section>
  );
}
