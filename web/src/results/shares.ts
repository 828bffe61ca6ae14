// Share links on the job page: the expiry the owner types, and what each listed link's state is.
// Pure: no React, no fetch.
import { ApiError } from '../api/client';
import type { Share, ShareCreate } from '../api/types';

/** The server's bound: a link lives at most ten years. */
export const MAX_SHARE_DAYS = 3650;

/** The create body from the expiry box: empty means the link never expires. */
export function shareBody(daysText: string): { body: ShareCreate } | { error: string } {
  const text = daysText.trim();
  if (text === '') return { body: {} };
  if (!/^\d+$/.test(text)) return { error: 'Expiry: a whole number of days, or empty for never.' };
  const days = Number(text);
  if (days < 1 || days > MAX_SHARE_DAYS) return { error: `Expiry: from 1 to ${MAX_SHARE_DAYS} days.` };
  return { body: { expires_in_days: days } };
}

export type ShareState = 'active' | 'revoked' | 'expired';

/** Revoked wins over expired; the server's `active` is the truth when it was read. */
export function shareState(share: Pick<Share, 'active' | 'revoked_at' | 'expires_at'>, nowMs: number): ShareState {
  if (share.revoked_at) return 'revoked';
  if (!share.active) return 'expired';
  if (share.expires_at && Date.parse(share.expires_at) <= nowMs) return 'expired';
  return 'active';
}

/** Newest first, the links that still open the job before those that no longer do. */
export function orderShares<T extends Pick<Share, 'active' | 'revoked_at' | 'expires_at' | 'created_at'>>(shares: readonly T[], nowMs: number): T[] {
  const rank = (s: T) => (shareState(s, nowMs) === 'active' ? 0 : 1);
  return [...shares].sort((a, b) => rank(a) - rank(b) || Date.parse(b.created_at) - Date.parse(a.created_at));
}

/**
 * The link opens nothing: the server answers 404 `share_not_found` alike for an unknown, forged,
 * revoked or expired link (or one whose job was deleted), and 422 for a token longer than any it
 * makes. A rate limit (429) or a server failure is not the link's fault and is shown as itself.
 */
export function linkRefused(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 422);
}
