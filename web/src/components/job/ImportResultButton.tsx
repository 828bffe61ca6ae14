// Import a BLAST result made elsewhere (BLAST XML -outfmt 5 or a BLAST archive -outfmt 11): pick
// the file, it is uploaded (with progress) and read by the server, and the new job opens.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { importResult, type UploadStage } from '../../api/upload';
import { formatBytes } from '../../format/databases';
import { ErrorNote } from '../ErrorNote';
import { refetchAfterChange } from '../../api/queryClient';

export function ImportResultButton() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [stage, setStage] = useState<UploadStage | null>(null);
  const [name, setName] = useState('');
  const upload = useMutation({
    mutationFn: (file: File) => importResult(file, setStage),
    onSuccess: (job) => {
      void refetchAfterChange(queryClient, ['jobs']);
      navigate(`/jobs/${job.id}`);
    },
    onSettled: () => setStage(null),
  });

  function picked(files: FileList | null) {
    const file = files?.[0];
    if (!file) return;
    setName(file.name);
    upload.mutate(file);
    if (input.current) input.current.value = ''; // the same file can be picked again
  }

  return (
    <div className="stack" data-testid="import-result">
      <label className="btn" aria-disabled={upload.isPending} title="BLAST XML (-outfmt 5) or a BLAST archive (-outfmt 11) made elsewhere">
        Import BLAST result…
        <input
          ref={input}
          type="file"
          hidden
          disabled={upload.isPending}
          accept=".xml,.asn,.asn1,.txt,application/xml,text/xml,text/plain"
          onChange={(e) => picked(e.target.files)}
          data-testid="import-file"
        />
      </label>
      {stage && (
        <span className="muted" role="status" data-testid="import-progress">
          {stage.stage === 'sending'
            ? `Uploading ${name}: ${formatBytes(stage.loaded)} of ${formatBytes(stage.total)}`
            : `Reading ${name} (indexing its hits)…`}
        </span>
      )}
      {upload.error && <ErrorNote error={upload.error} testId="import-error" />}
    </div>
  );
}
