// The query: paste, upload, drop a file on the text area, or take the example.
import { useRef, useState, type DragEvent } from 'react';
import type { Limits } from '../../api/types';
import { plural } from '../../format/text';
import { checkUploadSize } from '../../validation/query';
import { FieldError, type ShownError } from './FieldError';

interface Props {
  value: string;
  onChange: (text: string) => void;
  onExample: () => void;
  onFileProblem: (problem: ShownError) => void;
  error: ShownError | undefined;
  limits: Limits | undefined;
  moleculeWord: string;
}

export function QueryField({ value, onChange, onExample, onFileProblem, error, limits, moleculeWord }: Props) {
  const [dragging, setDragging] = useState(false);
  const [fileName, setFileName] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const readFile = async (file: File) => {
    const tooBig = checkUploadSize(file.size, limits);
    if (tooBig) {
      onFileProblem(tooBig);
      return;
    }
    try {
      onChange(await file.text());
      setFileName(file.name);
    } catch {
      onFileProblem({ code: 'file_unreadable', message: `Could not read ${file.name}.` });
    }
  };

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    if (file) void readFile(file);
  };

  return (
    <div className="field">
      <div className="field-head">
        <label className="label" htmlFor="query">
          Query ({moleculeWord} FASTA)
        </label>
        <div className="row gap-small">
          <button type="button" className="btn btn-small" onClick={onExample} data-testid="query-example">
            Use example
          </button>
          <button type="button" className="btn btn-small" onClick={() => fileInput.current?.click()}>
            Upload file…
          </button>
          <input
            ref={fileInput}
            type="file"
            className="visually-hidden"
            accept=".fa,.fasta,.fna,.faa,.ffn,.txt,.seq,text/plain"
            data-testid="query-file"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void readFile(file);
              e.target.value = ''; // choosing the same file again still fires change
            }}
          />
        </div>
      </div>
      <div
        className={`dropzone${dragging ? ' dropzone-active' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="query-dropzone"
      >
        <textarea
          id="query"
          value={value}
          onChange={(e) => {
            onChange(e.target.value);
            setFileName(null);
          }}
          rows={10}
          spellCheck={false}
          placeholder={'>my_sequence description\nACGT… (paste FASTA, or drop a file here)'}
          data-testid="query-input"
          aria-invalid={!!error}
        />
      </div>
      <span className="hint">
        {fileName ? `Loaded ${fileName}. ` : ''}
        One or more FASTA records, a single bare sequence, or sequence ids (accessions, one a line)
        of sequences in the databases.
        {limits
          ? ` Up to ${plural(limits.max_sequences_per_job, 'sequence')} and ${plural(limits.max_query_letters_per_job, 'letter')}.`
          : ''}
      </span>
      <FieldError name="query" error={error} />
    </div>
  );
}
