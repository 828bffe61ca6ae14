// The owner's share links of a job: make one (optionally expiring), copy its address (shown only
// now: the server keeps no token), see every link made and revoke one.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { api } from '../../api/endpoints';
import { refetchAfterChange } from '../../api/queryClient';
import type { Share, ShareCreated } from '../../api/types';
import { formatDateTime } from '../../format/text';
import { orderShares, shareBody, shareState } from '../../results/shares';
import { ErrorNote } from '../ErrorNote';

const sharesKey = (jobId: string) => ['shares', jobId] as const;

export function SharePanel({ jobId }: { jobId: string }) {
  const queryClient = useQueryClient();
  const [days, setDays] = useState('');
  const [made, setMade] = useState<ShareCreated | null>(null);
  const [inputError, setInputError] = useState<string | null>(null);
  const shares = useQuery({ queryKey: sharesKey(jobId), queryFn: () => api.shares(jobId) });
  // The list is often still on its first read when a link is made (the panel just opened).
  const refresh = () => refetchAfterChange(queryClient, sharesKey(jobId));

  const create = useMutation({
    mutationFn: (body: Parameters<typeof api.createShare>[1]) => api.createShare(jobId, body),
    onSuccess: (share) => {
      setMade(share);
      void refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (shareId: string) => api.revokeShare(jobId, shareId),
    onSuccess: (share) => {
      if (made?.id === share.id) setMade(null);
      void refresh();
    },
  });

  const submit = () => {
    const parsed = shareBody(days);
    if ('error' in parsed) {
      setInputError(parsed.error);
      return;
    }
    setInputError(null);
    create.mutate(parsed.body);
  };
  const confirmRevoke = (share: Share) => {
    if (window.confirm('Revoke this link? Whoever holds it can no longer open the job.')) revoke.mutate(share.id);
  };

  const now = Date.now();
  const listed = orderShares(shares.data ?? [], now);
  return (
    <section className="card stack" data-testid="share-panel">
      <h2>Share links</h2>
      <p className="muted small">
        Anyone with a link sees this job's results and downloads, read-only, without signing in, until the link expires or you
        revoke it.
      </p>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label className="field field-inline">
          <span className="label">Expires after (days)</span>
          <input
            type="text"
            inputMode="numeric"
            placeholder="never"
            value={days}
            onChange={(e) => setDays(e.target.value)}
            aria-invalid={inputError ? true : undefined}
            data-testid="share-days"
          />
        </label>
        <button type="submit" className="btn btn-primary" disabled={create.isPending} data-testid="share-create">
          Create link
        </button>
      </form>
      {inputError && (
        <p className="alert alert-error" role="alert" data-testid="share-days-error">
          {inputError}
        </p>
      )}
      {create.error && <ErrorNote error={create.error} testId="share-create-error" />}
      {made && <NewLink share={made} />}
      {revoke.error && <ErrorNote error={revoke.error} testId="share-revoke-error" />}
      {shares.error && <ErrorNote error={shares.error} testId="shares-error" />}
      {shares.data && listed.length === 0 && <p className="muted small">No links yet.</p>}
      {listed.length > 0 && (
        <table className="table" data-testid="share-list">
          <thead>
            <tr>
              <th>Link</th>
              <th>Created</th>
              <th>Expires</th>
              <th>State</th>
              <th aria-label="Revoke" />
            </tr>
          </thead>
          <tbody>
            {listed.map((s) => {
              const state = shareState(s, now);
              return (
                <tr key={s.id} data-testid="share-row" data-share-id={s.id} data-state={state}>
                  <td className="mono">{s.id}</td>
                  <td>{formatDateTime(s.created_at)}</td>
                  <td>{s.expires_at ? formatDateTime(s.expires_at) : 'never'}</td>
                  <td data-testid="share-state">{state === 'revoked' ? `revoked ${formatDateTime(s.revoked_at)}` : state}</td>
                  <td>
                    {state === 'active' && (
                      <button type="button" className="btn btn-small btn-danger" disabled={revoke.isPending} onClick={() => confirmRevoke(s)} data-testid="share-revoke">
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The address just made, to copy: the only time it is shown. */
function NewLink({ share }: { share: ShareCreated }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(share.url);
      setCopied('yes');
    } catch {
      // No clipboard access (an insecure origin, a refused permission): select it for Ctrl+C.
      field.current?.select();
      setCopied('select');
    }
  };
  return (
    <div className="alert alert-info stack" data-testid="share-new" data-share-id={share.id}>
      <div className="row gap-small">
        <input ref={field} className="share-url" readOnly value={share.url} onFocus={(e) => e.currentTarget.select()} aria-label="The new link" data-testid="share-url" />
        <button type="button" className="btn btn-small" onClick={() => void copy()} data-testid="share-copy">
          Copy
        </button>
        {copied && (
          <span className="small" role="status" data-testid="share-copied">
            {copied === 'yes' ? 'Copied.' : 'Selected: press Ctrl+C (or ⌘C) to copy.'}
          </span>
        )}
      </div>
      <span className="small">
        Copy it now: the address is shown only once{share.expires_at ? `; it works until ${formatDateTime(share.expires_at)}` : ''}.
      </span>
    </div>
  );
}
