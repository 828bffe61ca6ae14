// Which tab the job page shows. Pure, so the rules are tested on their own.
import type { JobStatus } from '../api/types';

export const TABS = ['run', 'hits', 'alignments', 'graphic', 'downloads'] as const;
export type Tab = (typeof TABS)[number];

export function parseTab(value: string | null): Tab | null {
  return (TABS as readonly string[]).includes(value ?? '') ? (value as Tab) : null;
}

/**
 * The URL's tab wins; result tabs need a completed job (else Run). Without a tab in the URL a
 * completed job opens Hits and any other job (failed included) opens Run.
 */
export function chooseTab(requested: Tab | null, status: JobStatus): Tab {
  const completed = status === 'completed';
  if (requested) return requested === 'run' || completed ? requested : 'run';
  return completed ? 'hits' : 'run';
}
