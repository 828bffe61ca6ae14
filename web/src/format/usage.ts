// Pure helpers of the Usage page: the period picker's dates and the figures' display.
import type { Quantiles, UsageDay } from '../api/types';
import { formatDuration } from './text';

/** The statuses a day's bar is stacked from, bottom up, with their colours. */
export const STATUS_SERIES = [
  { key: 'completed', label: 'Completed', color: '#2e7d32' },
  { key: 'failed', label: 'Failed', color: '#c62828' },
  { key: 'cancelled', label: 'Cancelled', color: '#8d6e63' },
  { key: 'running', label: 'Running', color: '#1565c0' },
  { key: 'queued', label: 'Queued', color: '#9e9e9e' },
] as const satisfies readonly { key: keyof UsageDay; label: string; color: string }[];

/** The UTC date `days - 1` days before `to` (YYYY-MM-DD): a period of `days` days ending on it. */
export function periodStart(to: string, days: number): string {
  const end = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(end)) return to;
  return new Date(end - (days - 1) * 86_400_000).toISOString().slice(0, 10);
}

/** Today's UTC date, YYYY-MM-DD. */
export function utcToday(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** "12.5", "0.034", "1,204": CPU-hours with as many decimals as make them readable. */
export function formatHours(hours: number): string {
  if (hours === 0) return '0';
  if (hours < 0.01) return hours.toPrecision(2);
  if (hours < 100) return String(Number(hours.toFixed(2)));
  return Math.round(hours).toLocaleString('en-US');
}

/** "1.2 s / 8.0 s" (median / 95th percentile), or "—" when no job of the period has it. */
export function formatQuantiles(q: Quantiles | null | undefined): string {
  if (!q) return '—';
  return `${formatDuration(q.median_s * 1000)} / ${formatDuration(q.p95_s * 1000)}`;
}

/** A day's label on the chart's axis: "Nov 3". */
export function dayLabel(day: string): string {
  const at = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(at)) return day;
  return new Date(at).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
