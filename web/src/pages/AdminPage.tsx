// Users and tokens: everyone manages their own tokens; admins manage users, anyone's tokens,
// and read the audit log. A new token is shown once, right here, and never again.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { ApiError } from '../api/client';
import { api } from '../api/endpoints';
import type { Token, TokenCreated, User } from '../api/types';
import { useSession } from '../auth/session';
import { ErrorNote } from '../components/ErrorNote';
import { describeAudit, parseGroups } from '../format/accounts';
import { formatDateTime } from '../format/text';
import { refetchAfterChange } from '../api/queryClient';

export function AdminPage() {
  const { session } = useSession();
  const signedIn = session?.auth_enabled ? session.user : null;
  // With auth off every caller is an admin (there is nobody to sign in).
  const isAdmin = !session?.auth_enabled || Boolean(signedIn?.admin);
  const [created, setCreated] = useState<TokenCreated | null>(null);
  return (
    <div className="stack">
      <h1>{isAdmin ? 'Users and tokens' : 'Your tokens'}</h1>
      {session && !session.auth_enabled && (
        <p className="alert alert-info" data-testid="auth-off-note">
          Sign-in is off on this server (the single-user default on 127.0.0.1): nobody signs in and everyone may do
          everything here. Users and tokens made now take effect once it is on (BLASTDECK_AUTH=on, or the server
          listening on another address).
        </p>
      )}
      {created && <NewTokenNote token={created} onDone={() => setCreated(null)} />}
      <TokensCard isAdmin={isAdmin} canMakeOwn={Boolean(signedIn)} onCreated={setCreated} />
      {isAdmin && <UsersCard onCreated={setCreated} self={signedIn?.name ?? null} />}
      {isAdmin && <AuditCard />}
    </div>
  );
}

function NewTokenNote({ token, onDone }: { token: TokenCreated; onDone: () => void }) {
  return (
    <div className="alert alert-info stack" role="status" data-testid="new-token">
      <p>
        New token for <strong>{token.user}</strong>. Copy it now: it is shown this once and never stored.
      </p>
      <code className="mono" data-testid="new-token-value">
        {token.token}
      </code>
      <div className="row">
        <button type="button" className="btn btn-small" onClick={() => void navigator.clipboard?.writeText(token.token)}>
          Copy
        </button>
        <button type="button" className="btn btn-small" onClick={onDone} data-testid="new-token-done">
          Done
        </button>
      </div>
    </div>
  );
}

interface TokensProps {
  isAdmin: boolean;
  canMakeOwn: boolean;
  onCreated: (token: TokenCreated) => void;
}

function TokensCard({ isAdmin, canMakeOwn, onCreated }: TokensProps) {
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: api.tokens });
  const invalidate = () => refetchAfterChange(queryClient, ['tokens']);
  const create = useMutation({
    mutationFn: () => api.createToken(),
    onSuccess: onCreated,
    onSettled: invalidate,
  });
  const revoke = useMutation({ mutationFn: api.revokeToken, onSettled: invalidate });
  return (
    <section className="card stack" data-testid="tokens-card">
      <h2>{isAdmin ? 'Tokens' : 'Tokens you can use'}</h2>
      {tokens.error && <ErrorNote error={tokens.error} testId="tokens-error" />}
      {revoke.error && <ErrorNote error={revoke.error} testId="token-revoke-error" />}
      {create.error && <ErrorNote error={create.error} testId="token-create-error" />}
      <table className="table" data-testid="tokens-table">
        <thead>
          <tr>
            <th>Id</th>
            <th>User</th>
            <th>Created</th>
            <th title="to the minute">Last used</th>
            <th>State</th>
            <th className="actions">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(tokens.data ?? []).map((t: Token) => (
            <tr key={t.id} data-testid="token-row" data-id={t.id} data-user={t.user}>
              <td className="mono">{t.id}</td>
              <td>{t.user}</td>
              <td>{formatDateTime(t.created_at)}</td>
              <td>{t.last_used_at ? formatDateTime(t.last_used_at) : 'never'}</td>
              <td data-testid="token-state">{t.active ? 'active' : `revoked ${formatDateTime(t.revoked_at)}`}</td>
              <td className="actions">
                {t.active && (
                  <RowButton
                    testId="token-revoke"
                    danger
                    disabled={revoke.isPending}
                    confirm={`Revoke token ${t.id} of ${t.user}? It stops working at once.`}
                    onClick={() => revoke.mutate(t.id)}
                  >
                    Revoke
                  </RowButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {tokens.data && tokens.data.length === 0 && <p className="empty">No tokens.</p>}
      {canMakeOwn && (
        <div className="row">
          <button type="button" className="btn" onClick={() => create.mutate()} disabled={create.isPending} data-testid="token-create">
            New token for me
          </button>
        </div>
      )}
    </section>
  );
}

function UsersCard({ onCreated, self }: { onCreated: (token: TokenCreated) => void; self: string | null }) {
  const queryClient = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: api.users });
  const invalidate = () => {
    for (const key of ['users', 'tokens', 'audit']) void refetchAfterChange(queryClient, [key]);
  };
  const update = useMutation({
    mutationFn: (v: { name: string; admin?: boolean; disabled?: boolean }) =>
      api.updateUser(v.name, { admin: v.admin, disabled: v.disabled }),
    onSettled: invalidate,
  });
  const remove = useMutation({
    mutationFn: async (name: string) => {
      try {
        return await api.removeUser(name, false);
      } catch (err) {
        const owns = err instanceof ApiError && err.code === 'user_owns_data';
        if (owns && window.confirm(`${err.message}\n\nRemove ${name} anyway?`)) return api.removeUser(name, true);
        throw err;
      }
    },
    onSettled: invalidate,
  });
  const tokenFor = useMutation({ mutationFn: api.createToken, onSuccess: onCreated, onSettled: invalidate });
  const error = users.error ?? update.error ?? remove.error ?? tokenFor.error;
  return (
    <section className="card stack" data-testid="users-card">
      <h2>Users</h2>
      {error && <ErrorNote error={error} testId="users-error" />}
      <table className="table" data-testid="users-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Admin</th>
            <th>Groups</th>
            <th>Created</th>
            <th>State</th>
            <th className="actions">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u: User) => (
            <tr key={u.name} data-testid="user-row" data-name={u.name}>
              <td>{u.name}</td>
              <td>{u.admin ? 'yes' : 'no'}</td>
              <td>{u.groups.join(', ')}</td>
              <td>{formatDateTime(u.created_at)}</td>
              <td data-testid="user-state">{u.disabled_at ? 'disabled' : 'active'}</td>
              <td className="actions">
                <RowButton testId="user-token" onClick={() => tokenFor.mutate(u.name)}>
                  New token
                </RowButton>
                {u.name !== self && (
                  <>
                    <RowButton testId="user-admin" onClick={() => update.mutate({ name: u.name, admin: !u.admin })}>
                      {u.admin ? 'Remove admin' : 'Make admin'}
                    </RowButton>
                    <RowButton testId="user-disable" onClick={() => update.mutate({ name: u.name, disabled: !u.disabled_at })}>
                      {u.disabled_at ? 'Enable' : 'Disable'}
                    </RowButton>
                    <RowButton
                      testId="user-remove"
                      danger
                      confirm={`Remove user ${u.name} and their tokens?`}
                      onClick={() => remove.mutate(u.name)}
                    >
                      Remove
                    </RowButton>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {users.data && users.data.length === 0 && (
        <p className="empty" data-testid="users-empty">
          No users.
        </p>
      )}
      <AddUserForm onAdded={invalidate} />
    </section>
  );
}

interface RowButtonProps {
  testId: string;
  onClick: () => void;
  children: ReactNode;
  danger?: boolean;
  disabled?: boolean;
  /** Asked first (window.confirm); the action runs only when the admin agrees. */
  confirm?: string;
}

/** One action of a table row: a small button, red and confirmed first when it destroys. */
function RowButton({ testId, onClick, children, danger = false, disabled = false, confirm }: RowButtonProps) {
  return (
    <button
      type="button"
      className={danger ? 'btn btn-small btn-danger' : 'btn btn-small'}
      data-testid={testId}
      disabled={disabled}
      onClick={() => {
        if (confirm === undefined || window.confirm(confirm)) onClick();
      }}
    >
      {children}
    </button>
  );
}

function AddUserForm({ onAdded }: { onAdded: () => void }) {
  const [name, setName] = useState('');
  const [admin, setAdmin] = useState(false);
  const [groups, setGroups] = useState('');
  const add = useMutation({
    mutationFn: () => api.addUser({ name: name.trim(), admin, groups: parseGroups(groups) }),
    onSuccess: () => {
      setName('');
      setAdmin(false);
      setGroups('');
    },
    onSettled: onAdded,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  return (
    <form className="stack" onSubmit={submit} data-testid="user-add-form">
      <h3>Add a user</h3>
      <div className="row">
        <label className="field">
          <span className="label">Name</span>
          <input type="text" value={name} onChange={(e) => setName(e.target.value)} data-testid="user-add-name" required />
        </label>
        <label className="field">
          <span className="label">Groups (comma-separated)</span>
          <input type="text" value={groups} onChange={(e) => setGroups(e.target.value)} data-testid="user-add-groups" />
        </label>
        <label className="field">
          <span className="label">Admin</span>
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} data-testid="user-add-admin" />
        </label>
      </div>
      {add.error && <ErrorNote error={add.error} testId="user-add-error" />}
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={add.isPending || !name.trim()} data-testid="user-add">
          Add user
        </button>
      </div>
    </form>
  );
}

function AuditCard() {
  const audit = useQuery({ queryKey: ['audit'], queryFn: () => api.audit(100) });
  return (
    <section className="card stack" data-testid="audit-card">
      <h2>Audit log</h2>
      {audit.error && <ErrorNote error={audit.error} testId="audit-error" />}
      <ul className="plain-list" data-testid="audit-list">
        {(audit.data?.items ?? []).map((e) => (
          <li key={e.id} data-testid="audit-entry">
            <span className="muted">{formatDateTime(e.at)}</span> {describeAudit(e)}
          </li>
        ))}
      </ul>
      {audit.data && audit.data.items.length === 0 && (
        <p className="empty" data-testid="audit-empty">
          Nothing yet: changes to users, tokens, databases and clusters are recorded here.
        </p>
      )}
      {audit.data && audit.data.total > audit.data.items.length && (
        <p className="muted">
          The newest {audit.data.items.length} of {audit.data.total} (GET /api/audit pages through all).
        </p>
      )}
    </section>
  );
}
