// Build a database from a FASTA upload: name, file (drop or pick), taxids (a map file or one
// taxid), molecule; a progress bar while the bytes go, then a second one while the server checks
// the FASTA and runs makeblastdb (polled from GET /api/databases/uploads/{id}).
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type DragEvent, type FormEvent } from 'react';
import { api } from '../../api/endpoints';
import type { Database } from '../../api/types';
import { uploadDatabase, type UploadStage } from '../../api/upload';
import { buildProgressText, formatBytes, percentOf } from '../../format/databases';
import { formatDuration } from '../../format/text';
import { useNow } from '../../live/useNow';
import { ErrorNote } from '../ErrorNote';

type Molecule = '' | 'nucl' | 'prot';

const BUILD_POLL_MS = 500;

export function DatabaseUploadForm({ onAdded }: { onAdded: (db: Database) => void }) {
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [taxidMap, setTaxidMap] = useState<File | null>(null);
  const [taxid, setTaxid] = useState('');
  const [molecule, setMolecule] = useState<Molecule>('');
  const [dragging, setDragging] = useState(false);
  const [stage, setStage] = useState<UploadStage | null>(null);

  const upload = useMutation({
    mutationFn: (fasta: File) =>
      uploadDatabase(
        {
          name: name.trim(),
          file: fasta,
          molecule: molecule || undefined,
          taxidMap: taxidMap ?? undefined,
          taxid: taxid.trim() || undefined,
        },
        setStage,
      ),
    onSuccess: (db) => {
      onAdded(db);
      setName('');
      setFile(null);
      setTaxidMap(null);
      setTaxid('');
    },
    onSettled: () => setStage(null),
  });

  function choose(chosen: File | undefined) {
    if (!chosen) return;
    setFile(chosen);
    // A name from the file's when none is typed yet (the server does the same without one).
    if (!name.trim()) setName(chosen.name.replace(/\.gz$/, '').replace(/\.[^.]*$/, ''));
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    choose(e.dataTransfer.files?.[0]);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (file) upload.mutate(file);
  }

  const busy = upload.isPending;
  return (
    <form className="card stack" onSubmit={submit} data-testid="db-upload-form" aria-busy={busy}>
      <h2>Add a database from FASTA</h2>
      <div className="row">
        <label className="field">
          <span className="label">Name</span>
          <input
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="my-16s"
            required
            data-testid="db-name"
          />
        </label>
        <label className="field">
          <span className="label">Molecule</span>
          <select value={molecule} onChange={(e) => setMolecule(e.target.value as Molecule)} data-testid="db-molecule">
            <option value="">auto (from the residues)</option>
            <option value="nucl">nucleotide</option>
            <option value="prot">protein</option>
          </select>
        </label>
      </div>
      <div
        className={`dropzone upload-drop${dragging ? ' dropzone-active' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="db-dropzone"
      >
        <label className="field">
          <span className="label">FASTA file (plain or .gz): drop it here or choose it</span>
          <input type="file" onChange={(e) => choose(e.target.files?.[0])} data-testid="db-file" />
          {file && (
            <span className="hint" data-testid="db-file-chosen">
              {file.name}, {formatBytes(file.size)}
            </span>
          )}
        </label>
      </div>
      <div className="row">
        <label className="field">
          <span className="label">Taxid map (optional)</span>
          <input
            type="file"
            onChange={(e) => setTaxidMap(e.target.files?.[0] ?? null)}
            disabled={!!taxid.trim()}
            data-testid="db-taxid-map"
          />
          <span className="hint">seqid&lt;TAB&gt;taxid lines, one per sequence</span>
        </label>
        <label className="field">
          <span className="label">or one taxid for every sequence</span>
          <input
            type="number"
            min={1}
            value={taxid}
            onChange={(e) => setTaxid(e.target.value)}
            disabled={!!taxidMap}
            data-testid="db-taxid"
          />
        </label>
      </div>
      {stage && <UploadProgress stage={stage} size={file?.size ?? 0} />}
      {upload.error && <ErrorNote error={upload.error} testId="db-upload-error" />}
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={busy || !file} data-testid="db-upload">
          {busy ? 'Adding…' : 'Add database'}
        </button>
      </div>
    </form>
  );
}

/** The upload's bar, full once every byte is sent; the server's work on the file below it. */
function UploadProgress({ stage, size }: { stage: UploadStage; size: number }) {
  if (stage.stage === 'building') {
    return (
      <>
        <div className="field" data-testid="db-upload-progress">
          <progress max={100} value={100} aria-label="Upload progress" />
          <span className="hint">Uploaded: {formatBytes(size)}</span>
        </div>
        <Building uploadId={stage.uploadId} />
      </>
    );
  }
  const percent = percentOf(stage.loaded, stage.total);
  return (
    <div className="field" data-testid="db-upload-progress">
      <progress max={100} value={percent} aria-label="Upload progress" />
      <span className="hint">
        Uploading: {formatBytes(stage.loaded)} of {formatBytes(stage.total)} ({percent}%)
      </span>
    </div>
  );
}

/** The server's work on the uploaded file: checking the FASTA, then makeblastdb, polled every
 * BUILD_POLL_MS; the time taken so far beside it. Not known to this API process (404: another
 * one builds it), the bar has no value. */
function Building({ uploadId }: { uploadId?: string }) {
  const [since] = useState(() => Date.now());
  const elapsed = Math.floor((useNow(true, 1000) - since) / 1000) * 1000;
  const progress = useQuery({
    queryKey: ['upload-progress', uploadId],
    queryFn: () => api.uploadProgress(uploadId ?? ''),
    enabled: !!uploadId,
    refetchInterval: BUILD_POLL_MS,
    retry: false,
    gcTime: 0,
  });
  const { label, percent } = buildProgressText(progress.data ?? null);
  return (
    <div className="field" role="status" data-testid="db-building">
      <progress
        max={100}
        value={percent ?? undefined}
        aria-label="Build progress"
        data-testid="db-build-progress"
        data-phase={progress.data?.phase ?? 'unknown'}
      />
      <span className="hint">
        <span data-testid="db-build-label">{label}</span>{' '}
        <span data-testid="db-building-elapsed">{elapsed >= 1000 ? formatDuration(elapsed) : ''}</span>
      </span>
    </div>
  );
}
