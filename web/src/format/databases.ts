// Display text for the Databases page.
import type { Database, UploadProgress } from '../api/types';

/** "1.5 KB", "12.3 MB", "2.00 GB" (powers of 1024, as `du -h`). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** "with taxid: 20 (7 taxa)", "no taxids", or "taxids not read" (added before they were). */
export function coverageText(db: Pick<Database, 'taxonomy'>): string {
  const t = db.taxonomy;
  if (!t) return 'taxids not read';
  if (!t.taxid_sequences) return 'no taxids';
  const taxa = t.distinct_taxids === 1 ? '1 taxon' : `${t.distinct_taxids.toLocaleString('en-US')} taxa`;
  return `with taxid: ${t.taxid_sequences.toLocaleString('en-US')} (${taxa})`;
}

/** The top organisms, one per line: "Escherichia coli (562): 4". */
export function topOrganismsText(db: Pick<Database, 'taxonomy'>): string {
  return (db.taxonomy?.top_organisms ?? [])
    .map((o) => `${o.name ?? 'taxid'} (${o.taxid}): ${o.sequences.toLocaleString('en-US')}`)
    .join('\n');
}

/** Who may search it: "public", "private", "group @lab". */
export function visibilityText(db: Pick<Database, 'visibility' | 'group'>): string {
  return db.visibility === 'group' && db.group ? `group @${db.group}` : db.visibility;
}

/** Where it is warm: "local, hpc (out of date)", or "not staged". */
export function stagedText(db: Pick<Database, 'staged'>): string {
  const copies = db.staged ?? [];
  if (copies.length === 0) return 'not staged';
  return copies.map((c) => (c.current ? c.cluster : `${c.cluster} (out of date)`)).join(', ');
}

/** Upload progress as a whole percentage, 0..100. */
export function percentOf(loaded: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.max(0, Math.min(100, Math.floor((loaded / total) * 100)));
}

/** The second bar of an upload, while the server checks the FASTA and runs makeblastdb: its words
 * and value ("Checking FASTA 42 %", "Building (makeblastdb) ~63 %"); a null percent is a bar
 * without a value. `progress` null: this server process does not know the upload (several API
 * processes: another one is building it), so only that it is being built can be said. */
export function buildProgressText(progress: Pick<UploadProgress, 'phase' | 'percent'> | null): {
  label: string;
  percent: number | null;
} {
  const percent = progress?.percent ?? null;
  switch (progress?.phase) {
    case undefined:
      return { label: 'Building the database (checking the FASTA, then makeblastdb)…', percent: null };
    case 'receiving':
      return { label: 'Receiving the upload…', percent: null };
    case 'checking':
      return percent == null
        ? { label: 'Unpacking the gzipped FASTA…', percent: null }
        : { label: `Checking FASTA ${percent} %`, percent };
    case 'building':
      // An estimate from the letters checked: "~", and never 100 before makeblastdb is done.
      return { label: `Building (makeblastdb) ~${percent ?? 0} %`, percent: percent ?? 0 };
    case 'done':
      return { label: 'Built; adding it to the list…', percent: 100 };
    case 'failed':
      return { label: 'The build failed.', percent: null };
  }
}
