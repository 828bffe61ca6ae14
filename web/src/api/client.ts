// The one place that talks HTTP: JSON in/out, CSRF header, uniform errors, 401 hand-off.
import type { ErrorBody } from './types';

/** The server's error body, or one made here when no JSON answer came back. */
export type ClientErrorBody = Omit<ErrorBody, 'error_code'> & {
  error_code: ErrorBody['error_code'] | 'network_error' | `http_${number}`;
};

/** A failed request: `status` 0 means the server was not reached (network error). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  readonly detail: unknown;

  constructor(status: number, body: ClientErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.error_code;
    this.field = body.field ?? null;
    this.detail = body.detail;
  }
}

/** Worth retrying quietly: the server was not reached or failed on its side. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return error.status === 0 || error.status >= 500;
  // fetch() rejects with a TypeError when the network is down.
  return error instanceof TypeError;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

// The session layer registers here so any 401 sends the user to the sign-in page.
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export const CSRF_COOKIE = 'blastdeck_csrf';

/** The readable CSRF cookie the server sets at sign-in, if any. */
export function csrfToken(cookies: string = typeof document === 'undefined' ? '' : document.cookie): string | null {
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return null;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A 401 outside `send` (the upload's XMLHttpRequest) hands off the same way. */
export function signalUnauthorized(): void {
  onUnauthorized?.();
}

interface RequestOptions {
  method?: Method;
  body?: unknown;
  signal?: AbortSignal;
  /** Don't treat 401 as "signed out" (the sign-in call itself). */
  quiet401?: boolean;
}

async function send(path: string, opts: RequestOptions, accept: string): Promise<Response> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: accept };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, { error_code: 'network_error', message: 'The server could not be reached.', field: null });
  }
  if (!response.ok) {
    const body = await errorBody(response);
    if (response.status === 401 && !opts.quiet401) onUnauthorized?.();
    throw new ApiError(response.status, body);
  }
  return response;
}

async function errorBody(response: Response): Promise<ClientErrorBody> {
  try {
    const body = (await response.json()) as Partial<ClientErrorBody>;
    if (body && typeof body.error_code === 'string') {
      return { error_code: body.error_code, message: body.message ?? '', field: body.field ?? null, detail: body.detail };
    }
  } catch {
    // Not JSON (a proxy's error page, say): fall through to a generic body.
  }
  return { error_code: `http_${response.status}`, message: response.statusText || `HTTP ${response.status}`, field: null };
}

export async function apiJson<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const response = await send(path, opts, 'application/json');
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export async function apiText(path: string, opts: RequestOptions = {}): Promise<string> {
  const response = await send(path, opts, 'text/plain');
  return response.text();
}

/** A query string from the defined, non-empty values only. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
