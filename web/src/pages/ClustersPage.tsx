// Every cluster: engine, slots, settings, health, and per namespace the submit-lock holder (TTL
// left), the jobs waiting for the slot in order with how long each has waited, the running
// jobs, the queue depth and any pause. Live over server-sent events (polling when they fail).
// Admins pause and resume a cluster or one namespace, edit, delete and add a cluster.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api/endpoints';
import type { Cluster, SlotJob, SubmitSlot } from '../api/types';
import { useSession } from '../auth/session';
import { ClusterForm } from '../components/clusters/ClusterForm';
import { ErrorNote } from '../components/ErrorNote';
import { ttlLeftMs, waitedMs } from '../format/clusters';
import { formatDuration, shortId } from '../format/text';
import { CLUSTERS_KEY, useClustersLive } from '../live/useClustersLive';
import { useNow } from '../live/useNow';

interface PauseArgs {
  cluster: string;
  namespace: string | null;
  resume: boolean;
}

export function ClustersPage() {
  const queryClient = useQueryClient();
  const { session } = useSession();
  const isAdmin = !session?.auth_enabled || !!session.user?.admin;
  const live = useClustersLive();
  const now = useNow(true, 500);
  // While the stream is open it brings every change within a quarter second; a fetch of our
  // own could answer after a newer event and show the older state.
  const refresh = () => (live.streaming ? undefined : queryClient.invalidateQueries({ queryKey: CLUSTERS_KEY }));
  const pause = useMutation({
    mutationFn: (a: PauseArgs) => api.pauseCluster(a.cluster, a.namespace, a.resume),
    onSettled: refresh,
  });
  const remove = useMutation({ mutationFn: api.removeCluster, onSettled: refresh });
  const [added, setAdded] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);

  return (
    <div className="stack">
      <h1>Clusters</h1>
      <p className="muted" data-testid="clusters-live">
        {live.streaming ? 'Live' : 'Refreshing every second'}
      </p>
      {live.error ? <ErrorNote error={live.error} testId="clusters-error" /> : null}
      {pause.error && <ErrorNote error={pause.error} testId="cluster-pause-error" />}
      {remove.error && <ErrorNote error={remove.error} testId="cluster-delete-error" />}
      {added && (
        <div className="alert alert-info" role="status" data-testid="cluster-added">
          Added {added}.
        </div>
      )}
      {(live.clusters ?? []).map((cluster) => (
        <ClusterCard
          key={cluster.name}
          cluster={cluster}
          isAdmin={isAdmin}
          now={now}
          receivedAt={live.receivedAt}
          editing={editing === cluster.name}
          onEdit={(open) => setEditing(open ? cluster.name : null)}
          onSaved={() => {
            setEditing(null);
            void refresh();
          }}
          onPause={(namespace, resume) => pause.mutate({ cluster: cluster.name, namespace, resume })}
          onDelete={() => {
            if (window.confirm(`Delete cluster ${cluster.name}?`)) remove.mutate(cluster.name);
          }}
        />
      ))}
      {!live.clusters && !live.error && <p className="muted">Loading…</p>}
      {isAdmin && (
        <ClusterForm
          onDone={(cluster) => {
            setAdded(cluster.name);
            void refresh();
          }}
        />
      )}
    </div>
  );
}

interface CardProps {
  cluster: Cluster;
  isAdmin: boolean;
  now: number;
  receivedAt: number;
  editing: boolean;
  onEdit: (open: boolean) => void;
  onSaved: () => void;
  onPause: (namespace: string | null, resume: boolean) => void;
  onDelete: () => void;
}

function ClusterCard({ cluster, isAdmin, now, receivedAt, editing, onEdit, onSaved, onPause, onDelete }: CardProps) {
  const settings = Object.entries(cluster.settings);
  return (
    <section className="card stack" data-testid="cluster-card" data-name={cluster.name}>
      <h2>
        {cluster.name} <span className="muted">({cluster.engine})</span>
      </h2>
      <dl className="facts">
        <dt>Slots</dt>
        <dd data-testid="cluster-slots-count">{cluster.slots}</dd>
        <dt>Queue depth</dt>
        <dd data-testid="cluster-queue-depth">{cluster.queue_depth}</dd>
        <dt>Health</dt>
        <dd data-testid="cluster-health" title={cluster.health?.detail}>
          {cluster.health ? `${cluster.health.ok ? 'ok' : 'problem'}: ${cluster.health.detail}` : 'unknown'}
        </dd>
        <dt>Settings</dt>
        <dd data-testid="cluster-settings-shown">
          {settings.length ? settings.map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}
        </dd>
        <dt>Paused</dt>
        <dd data-testid="cluster-paused">{cluster.paused ? cluster.paused.message : 'no'}</dd>
      </dl>
      {isAdmin && (
        <div className="row">
          <button
            type="button"
            className="btn btn-small"
            data-testid={cluster.paused ? 'cluster-resume' : 'cluster-pause'}
            onClick={() => onPause(null, !!cluster.paused)}
          >
            {cluster.paused ? 'Resume cluster' : 'Pause cluster'}
          </button>
          <button type="button" className="btn btn-small" data-testid="cluster-edit" onClick={() => onEdit(!editing)}>
            Edit
          </button>
          <button type="button" className="btn btn-small btn-danger" data-testid="cluster-delete" onClick={onDelete}>
            Delete
          </button>
        </div>
      )}
      {isAdmin && editing && <ClusterForm editing={cluster} onDone={onSaved} onCancel={() => onEdit(false)} />}
      <table className="table" data-testid="slots-table">
        <thead>
          <tr>
            <th>Namespace</th>
            <th>Submit lock</th>
            <th>Waiting (in order)</th>
            <th>Running</th>
            <th className="num">Queue</th>
            <th>Paused</th>
            {isAdmin && <th className="actions">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {cluster.submit_slots.map((slot) => (
            <SlotRow
              key={slot.namespace}
              slot={slot}
              wholePaused={!!cluster.paused}
              isAdmin={isAdmin}
              now={now}
              receivedAt={receivedAt}
              onPause={(resume) => onPause(slot.namespace, resume)}
            />
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface SlotRowProps {
  slot: SubmitSlot;
  wholePaused: boolean;
  isAdmin: boolean;
  now: number;
  receivedAt: number;
  onPause: (resume: boolean) => void;
}

function SlotRow({ slot, wholePaused, isAdmin, now, receivedAt, onPause }: SlotRowProps) {
  const ttl = ttlLeftMs(slot.ttl_ms, receivedAt, now);
  const ownPause = !!slot.paused && slot.paused.namespace !== null;
  return (
    <tr data-testid="slot-row" data-namespace={slot.namespace}>
      <td className="mono">{slot.namespace}</td>
      <td data-testid="slot-holder">
        {slot.holder_job_id ? (
          <>
            <Link to={`/jobs/${slot.holder_job_id}`} data-testid="slot-holder-link">
              {shortId(slot.holder_job_id)}
            </Link>{' '}
            <span className="muted">TTL {formatDuration(ttl)}</span>
          </>
        ) : (
          'free'
        )}
      </td>
      <td data-testid="slot-waiting">
        <JobList jobs={slot.waiting_jobs ?? []} now={now} receivedAt={receivedAt} waited />
      </td>
      <td data-testid="slot-running">
        <JobList jobs={slot.running_jobs ?? []} now={now} receivedAt={receivedAt} />
      </td>
      <td className="num" data-testid="slot-queue-depth">
        {slot.queue_depth}
      </td>
      <td data-testid="slot-paused">{slot.paused ? slot.paused.message : 'no'}</td>
      {isAdmin && (
        <td className="actions">
          {!wholePaused && (
            <button type="button" className="btn btn-small" data-testid={ownPause ? 'slot-resume' : 'slot-pause'} onClick={() => onPause(ownPause)}>
              {ownPause ? 'Resume' : 'Pause'}
            </button>
          )}
        </td>
      )}
    </tr>
  );
}

function JobList({ jobs, now, receivedAt, waited = false }: { jobs: SlotJob[]; now: number; receivedAt: number; waited?: boolean }) {
  if (!jobs.length) return <span className="muted">none</span>;
  return (
    <ol className="plain-list">
      {jobs.map((job) => (
        <li key={job.job_id} data-testid="slot-job" data-job={job.job_id} data-phase={job.phase}>
          <Link to={`/jobs/${job.job_id}`}>{shortId(job.job_id)}</Link>{' '}
          <span className="muted">
            {job.phase}
            {waited ? `, ${formatDuration(waitedMs(job.waited_ms, receivedAt, now))}` : ''}
          </span>
        </li>
      ))}
    </ol>
  );
}
