// Register an existing BLAST+ database by its path prefix on the server (admins only: the
// server refuses anyone else, so the page shows this form to admins alone).
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/endpoints';
import type { Database, DatabaseRegister } from '../../api/types';
import { ErrorNote } from '../ErrorNote';

type Visibility = DatabaseRegister['visibility'];

export function DatabaseRegisterForm({ onAdded }: { onAdded: (db: Database) => void }) {
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const [visibility, setVisibility] = useState<NonNullable<Visibility>>('public');
  const [group, setGroup] = useState('');
  const register = useMutation({
    mutationFn: () =>
      api.registerDatabase({
        name: name.trim(),
        path: path.trim(),
        visibility,
        group: visibility === 'group' ? group.trim() : null,
      }),
    onSuccess: (db) => {
      onAdded(db);
      setName('');
      setPath('');
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    register.mutate();
  }

  return (
    <form className="card stack" onSubmit={submit} data-testid="db-register-form" aria-busy={register.isPending}>
      <h2>Register a database on the server</h2>
      <p className="hint">An existing BLAST+ database: its path prefix, without the .nsq/.psq extension.</p>
      <div className="row">
        <label className="field">
          <span className="label">Name</span>
          <input type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder="nt" required data-testid="db-register-name" />
        </label>
        <label className="field">
          <span className="label">Path prefix</span>
          <input type="text" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/data/blastdb/nt" required data-testid="db-register-path" />
        </label>
      </div>
      <VisibilityFields visibility={visibility} group={group} onVisibility={setVisibility} onGroup={setGroup} testId="db-register" />
      {register.error && <ErrorNote error={register.error} testId="db-register-error" />}
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={register.isPending} data-testid="db-register">
          {register.isPending ? 'Registering…' : 'Register'}
        </button>
      </div>
    </form>
  );
}

interface VisibilityProps {
  visibility: NonNullable<Visibility>;
  group: string;
  onVisibility: (v: NonNullable<Visibility>) => void;
  onGroup: (g: string) => void;
  testId: string;
}

/** Visibility, and the group when it is shared with one (the same rules as an upload). */
export function VisibilityFields({ visibility, group, onVisibility, onGroup, testId }: VisibilityProps) {
  return (
    <div className="row">
      <label className="field">
        <span className="label">Visibility</span>
        <select value={visibility} onChange={(e) => onVisibility(e.target.value as NonNullable<Visibility>)} data-testid={`${testId}-visibility`}>
          <option value="public">public</option>
          <option value="private">private (the owner)</option>
          <option value="group">a group</option>
        </select>
      </label>
      {visibility === 'group' && (
        <label className="field">
          <span className="label">Group</span>
          <input type="text" value={group} onChange={(e) => onGroup(e.target.value)} required placeholder="lab" data-testid={`${testId}-group`} />
        </label>
      )}
    </div>
  );
}
