// The job's notifications of its end (webhook, e-mail): each target and how its delivery went.
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/endpoints';
import type { Job, NotificationDelivery } from '../../api/types';
import { isActiveJob } from '../../live/polling';

const PENDING_REFRESH_MS = 2000;

function where(d: NotificationDelivery): string {
  const t = d.target;
  if (t.type === 'email') return `e-mail to ${t.to ?? ''}`;
  return `webhook ${t.url ?? ''}${t.format === 'slack' ? ' (Slack)' : ''}${t.secret_set ? ', signed' : ''}`;
}

function state(d: NotificationDelivery): string {
  const tries = `${d.attempts} ${d.attempts === 1 ? 'try' : 'tries'}`;
  if (d.status === 'delivered') return `delivered (${tries})`;
  if (d.status === 'failed') return `failed after ${tries}`;
  return d.attempts ? `retrying (${tries} so far)` : 'sending';
}

export function NotificationsCard({ job }: { job: Job }) {
  const ended = !isActiveJob(job);
  const deliveries = useQuery({
    queryKey: ['job-notifications', job.id, job.phase],
    queryFn: () => api.notifications(job.id),
    enabled: ended,
    refetchInterval: (q) => (q.state.data?.some((d) => d.status === 'pending') ? PENDING_REFRESH_MS : false),
  });
  const items = deliveries.data ?? [];
  if (!ended || items.length === 0) return null;
  return (
    <section className="card" data-testid="notifications">
      <h2>Notifications</h2>
      <ul className="event-log">
        {items.map((d) => (
          <li key={d.id} data-testid="notification" data-status={d.status}>
            <span className={`badge badge-step-${d.status === 'delivered' ? 'completed' : d.status === 'failed' ? 'failed' : 'waiting'}`}>
              {state(d)}
            </span>{' '}
            <span>{where(d)}</span> <span className="muted small">on {d.event}</span>
            {d.last_error && d.status !== 'delivered' && <div className="muted small">{d.last_error}</div>}
          </li>
        ))}
      </ul>
    </section>
  );
}
