// The databases the viewer may search: size, who owns it, taxonomy coverage, where it is
// staged; add one from a FASTA upload, or register a path (admins); change its sharing or
// delete it (its owner or an admin).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/endpoints';
import type { Database } from '../api/types';
import { useSession } from '../auth/session';
import { DatabaseRegisterForm } from '../components/databases/DatabaseRegisterForm';
import { DatabaseSharing } from '../components/databases/DatabaseSharing';
import { DatabaseUploadForm } from '../components/databases/DatabaseUploadForm';
import { ErrorNote } from '../components/ErrorNote';
import { coverageText, formatBytes, stagedText, topOrganismsText, visibilityText } from '../format/databases';
import { formatCount } from '../format/text';
import { refetchAfterChange } from '../api/queryClient';

export function DatabasesPage() {
  const queryClient = useQueryClient();
  const { session } = useSession();
  const [added, setAdded] = useState<string | null>(null);
  const [changed, setChanged] = useState<string | null>(null);
  const list = useQuery({ queryKey: ['databases'], queryFn: api.databases });
  const invalidate = () => refetchAfterChange(queryClient, ['databases']);
  const remove = useMutation({ mutationFn: api.removeDatabase, onSettled: invalidate });

  const user = session?.auth_enabled ? session.user : null;
  // The server decides (owner or admin); this only hides the button where it would surely be
  // refused. A group database's owner is not named in the list, so its members see it.
  const mayDelete = (db: Database) =>
    !user || user.admin || db.scope === user.name || db.visibility === 'group';

  return (
    <div className="stack">
      <h1>Databases</h1>
      {list.error && <ErrorNote error={list.error} testId="databases-error" />}
      {remove.error && <ErrorNote error={remove.error} testId="db-delete-error" />}
      {added && (
        <div className="alert alert-info" role="status" data-testid="db-added">
          Added {added}.
        </div>
      )}
      {changed && (
        <div className="alert alert-info" role="status" data-testid="db-changed">
          {changed}
        </div>
      )}
      <div className="card table-card">
        <table className="table" data-testid="databases-table" aria-busy={list.isFetching}>
          <thead>
            <tr>
              <th>Name</th>
              <th>Molecule</th>
              <th className="num">Sequences</th>
              <th className="num">Letters</th>
              <th className="num">Size</th>
              <th title="public, the owner's name, or @group">Owner</th>
              <th>Visibility</th>
              <th>Files</th>
              <th title="The clusters holding a copy of it (a job there skips staging)">Staged on</th>
              <th title="Sequences with a taxid, distinct taxa; top organisms on hover or expand">Taxonomy</th>
              <th className="actions">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((db) => (
              <DatabaseRow
                key={db.name}
                db={db}
                canDelete={mayDelete(db)}
                deleting={remove.isPending && remove.variables === db.name}
                onShared={(updated) => {
                  setChanged(`${db.name} is now ${updated.name} (${visibilityText(updated)}).`);
                  void invalidate();
                }}
                onDelete={() => {
                  const question = `Delete database ${db.name}? Its built files and staged copies are removed.`;
                  if (window.confirm(question)) remove.mutate(db.name);
                }}
              />
            ))}
          </tbody>
        </table>
        {list.data && list.data.length === 0 && <p className="empty">No databases yet.</p>}
        {list.isPending && <p className="empty">Loading…</p>}
      </div>
      <DatabaseUploadForm
        onAdded={(db) => {
          setAdded(db.name);
          void invalidate();
        }}
      />
      {(!user || user.admin) && (
        <DatabaseRegisterForm
          onAdded={(db) => {
            setAdded(db.name);
            void invalidate();
          }}
        />
      )}
    </div>
  );
}

interface RowProps {
  db: Database;
  canDelete: boolean;
  deleting: boolean;
  onDelete: () => void;
  onShared: (updated: Database) => void;
}

function DatabaseRow({ db, canDelete, deleting, onDelete, onShared }: RowProps) {
  const organisms = topOrganismsText(db);
  return (
    <tr data-testid="database-row" data-name={db.name}>
      <td className="mono" title={db.title}>
        {db.name}
      </td>
      <td>{db.molecule}</td>
      <td className="num">{formatCount(db.sequences)}</td>
      <td className="num">{formatCount(db.letters)}</td>
      <td className="num" data-testid="db-size">
        {formatBytes(db.size_bytes)}
      </td>
      <td>{db.scope}</td>
      <td>{visibilityText(db)}</td>
      <td data-testid="db-available" title={db.unavailable_reason ?? undefined}>
        {db.available ? 'ok' : 'missing'}
      </td>
      <td data-testid="db-staged" title={(db.staged ?? []).map((c) => `${c.cluster}: ${c.location}`).join('\n') || undefined}>
        {stagedText(db)}
      </td>
      <td data-testid="db-coverage">
        {organisms ? (
          <details title={organisms}>
            <summary>{coverageText(db)}</summary>
            <ul className="plain-list" data-testid="db-top-organisms">
              {organisms.split('\n').map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          </details>
        ) : (
          coverageText(db)
        )}
      </td>
      <td className="actions">
        {canDelete && <DatabaseSharing db={db} onChanged={onShared} />}
        {canDelete && (
          <button
            type="button"
            className="btn btn-small btn-danger"
            onClick={onDelete}
            disabled={deleting}
            data-testid="db-delete"
          >
            {deleting ? 'Deleting…' : 'Delete'}
          </button>
        )}
      </td>
    </tr>
  );
}
