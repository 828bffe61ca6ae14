// Display rules of the Clusters page. Pure.
import type { SubmitSlot } from '../api/types';

/** Which input of the add-cluster form a server error's `field` belongs to: `name`, `engine`,
 * `namespace`, `slots`, `settings.<key>` (that setting), else `settings` (the settings block). */
export function formFieldOf(field: string | null | undefined): string {
  if (!field) return 'form';
  if (['name', 'engine', 'namespace', 'slots'].includes(field)) return field;
  if (field.startsWith('settings.')) return field;
  if (field === 'settings' || field.startsWith('settings')) return 'settings';
  return 'form';
}

/** Time left on a lock (or waited so far), ticking on from when the data arrived. */
export function ttlLeftMs(ttlMs: number | null, receivedAt: number, now: number): number | null {
  if (ttlMs == null) return null;
  return Math.max(0, ttlMs - Math.max(0, now - receivedAt));
}

export function waitedMs(waited: number | null, receivedAt: number, now: number): number | null {
  if (waited == null) return null;
  return waited + Math.max(0, now - receivedAt);
}

/** "paused by root since …" for a namespace row, naming the cluster pause when it is that. */
export function pauseText(slot: Pick<SubmitSlot, 'paused'>): string | null {
  return slot.paused ? slot.paused.message : null;
}

/** What a secret setting shows instead of its value (the server's `HIDDEN_SETTING`). */
export const HIDDEN_SETTING = '(hidden)';

/** An edit's `settings`: each known setting whose field changed. A cleared field removes the
 * setting (null), except a secret's, which starts empty and, left empty, keeps its value. */
export function editedSettings(
  stored: Record<string, string>,
  fields: Record<string, string>,
  known: string[],
): Record<string, string | null> {
  const changed: Record<string, string | null> = {};
  for (const key of known) {
    const value = (fields[key] ?? '').trim();
    const was = stored[key];
    if (was === HIDDEN_SETTING) {
      if (value) changed[key] = value;
    } else if (value === '' && was !== undefined) {
      changed[key] = null;
    } else if (value !== '' && value !== was) {
      changed[key] = value;
    }
  }
  return changed;
}
