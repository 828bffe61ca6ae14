// Small display formatters shared by the pages.

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const totalSeconds = Math.floor(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** BLAST style: 0.0 for zero, scientific below 1e-3, else up to 3 significant digits. */
export function formatEvalue(value: number): string {
  if (value === 0) return '0.0';
  if (value < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}

export function formatPercent(value: number): string {
  return `${Number(value.toFixed(2))}%`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** How long a job ran: finished - created, or up to now while it is live. */
export function jobDurationMs(job: { created_at: string; finished_at: string | null }, nowMs: number): number | null {
  const start = Date.parse(job.created_at);
  if (Number.isNaN(start)) return null;
  const end = job.finished_at ? Date.parse(job.finished_at) : nowMs;
  return Number.isNaN(end) ? null : Math.max(0, end - start);
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * A count with its noun in the right number: "1 sequence", "2 sequences", "1,506 HSPs".
 * `many` for nouns that don't just take an s ("1 query", "50 queries").
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
