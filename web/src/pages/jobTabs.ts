// Which tab the job page shows. Pure, so the rules are tested on their own.
import type { JobStatus } from '../api/types';

export const TABS = ['run', 'hits', 'taxonomy', 'alignments', 'graphic', 'downloads'] as const;
export type Tab = (typeof TABS)[number];

export function parseTab(value: string | null): Tab | null {
  return (TABS as readonly string[]).includes(value ?? '') ? (value as Tab) : null;
}

/**
 * Run always; Hits also while the job runs (the batches finished so far); every other result
 * tab once the job has completed.
 */
export function tabAvailable(tab: Tab, status: JobStatus): boolean {
  if (tab === 'run' || status === 'completed') return true;
  return tab === 'hits' && status === 'running';
}

/**
 * The URL's tab wins when it is available (else Run). Without a tab in the URL a completed job
 * opens Hits and any other job (failed included) opens Run.
 */
export function chooseTab(requested: Tab | null, status: JobStatus): Tab {
  if (requested) return tabAvailable(requested, status) ? requested : 'run';
  return status === 'completed' ? 'hits' : 'run';
}
