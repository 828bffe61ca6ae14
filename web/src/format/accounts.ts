// Pure helpers of the Admin page: the groups field, and an audit entry in words.
import type { AuditEvent } from '../api/types';

/** "lab, b  ,lab" -> ["lab", "b"]: comma- or space-separated, blanks and repeats dropped. */
export function parseGroups(text: string): string[] {
  const seen: string[] = [];
  for (const part of text.split(/[\s,]+/)) {
    if (part && !seen.includes(part)) seen.push(part);
  }
  return seen;
}

const ACTIONS: Record<string, string> = {
  'user.add': 'added user',
  'user.update': 'changed user',
  'user.remove': 'removed user',
  'token.create': 'created a token for',
  'token.revoke': 'revoked a token of',
  'database.register': 'registered database',
  'database.visibility': 'changed who may search database',
  'database.remove': 'deleted database',
  'cluster.add': 'added cluster',
  'cluster.update': 'edited cluster',
  'cluster.remove': 'deleted cluster',
  'cluster.pause': 'paused cluster',
  'cluster.resume': 'resumed cluster',
};

function detailText(v: unknown): string {
  if (Array.isArray(v)) return v.join(', ') || 'none';
  if (v !== null && typeof v === 'object') return JSON.stringify(v); // a cluster edit's settings
  return String(v);
}

/** "root added user alice (admin: false, groups: lab)". */
export function describeAudit(event: AuditEvent): string {
  const who = event.actor ?? '(auth off)';
  const what = ACTIONS[event.action] ?? event.action;
  const details = Object.entries(event.details)
    .map(([k, v]) => `${k}: ${detailText(v)}`)
    .join('; ');
  return `${who} ${what} ${event.target}${details ? ` (${details})` : ''}`;
}
