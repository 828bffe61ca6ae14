// Change who may search a database (its owner or an admin): a small form in its row. The
// database's name follows its scope (x, owner/x, @group/x), so the list is read again after.
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/endpoints';
import type { Database } from '../../api/types';
import { ErrorNote } from '../ErrorNote';
import { VisibilityFields } from './DatabaseRegisterForm';

export function DatabaseSharing({ db, onChanged }: { db: Database; onChanged: (db: Database) => void }) {
  const [open, setOpen] = useState(false);
  const [visibility, setVisibility] = useState(db.visibility);
  const [group, setGroup] = useState(db.group ?? '');
  const change = useMutation({
    mutationFn: () =>
      api.updateDatabase(db.name, { visibility, group: visibility === 'group' ? group.trim() : null }),
    onSuccess: (updated) => {
      setOpen(false);
      onChanged(updated);
    },
  });

  if (!open) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setOpen(true)} data-testid="db-sharing-open">
        Sharing…
      </button>
    );
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    change.mutate();
  }
  return (
    <form className="stack" onSubmit={submit} data-testid="db-sharing-form">
      <VisibilityFields visibility={visibility} group={group} onVisibility={setVisibility} onGroup={setGroup} testId="db-sharing" />
      {change.error && <ErrorNote error={change.error} testId="db-sharing-error" />}
      <div className="row">
        <button type="submit" className="btn btn-small btn-primary" disabled={change.isPending} data-testid="db-sharing-save">
          {change.isPending ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="btn btn-small" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
