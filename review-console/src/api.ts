/**
 * The console's only way to the API: `fetch` with the session cookie (same origin), JSON bodies, the CSRF token
 * on every state-changing request, and errors turned into react-admin `HttpError`s (status and the API's
 * `{ error: { code, message } }`). A 403 `csrf` (the token went stale) refreshes the token from /api/me and
 * retries once.
 */
import { HttpError } from 'react-admin';
import type { Me } from './types';

const CSRF_KEY = 'warden.csrf';

/** The signed-in session as the console knows it: the user and the CSRF token (memory + sessionStorage). */
export const session = {
  me: null as Me | null,
  csrf: readStoredToken(),

  /** Remembers a login or /api/me answer. */
  set(me: Me, csrf: string): void {
    this.me = me;
    this.csrf = csrf;
    try { sessionStorage.setItem(CSRF_KEY, csrf); } catch { /* storage disabled: memory only */ }
  },

  /** Forgets the session (logout, 401). */
  clear(): void {
    this.me = null;
    this.csrf = null;
    try { sessionStorage.removeItem(CSRF_KEY); } catch { /* ignore */ }
  },
};

function readStoredToken(): string | null {
  try { return sessionStorage.getItem(CSRF_KEY); } catch { return null; }
}

export interface ApiErrorBody { error?: { code?: string; message?: string } }

/** Options of {@link api}. `query` values that are undefined, null or '' are left out. */
export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  signal?: AbortSignal;
}

/** Builds `/api<path>?<query>`. */
export function apiUrl(path: string, query?: ApiOptions['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return `/api${path}${s ? `?${s}` : ''}`;
}

/** The API's error code of a failed request (`conflict`, `csrf`, …), if any. */
export function errorCode(err: unknown): string | undefined {
  return (err as { body?: ApiErrorBody })?.body?.error?.code;
}

/** The status of a failed request (0 when the network failed). */
export function errorStatus(err: unknown): number | undefined {
  return (err as { status?: number })?.status;
}

/** A readable message for a failed request. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  return 'something went wrong';
}

async function send(path: string, o: ApiOptions): Promise<Response> {
  const method = o.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['content-type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['x-csrf-token'] = session.csrf;
  try {
    return await fetch(apiUrl(path, o.query), {
      method, headers, credentials: 'same-origin', signal: o.signal,
      body: o.body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(o.body),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new HttpError('the server cannot be reached; check your connection', 0, {});
  }
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return { error: { code: 'bad_response', message: text.slice(0, 200) } }; }
}

/**
 * Calls the API and returns the parsed JSON (null for 204).
 * @throws HttpError with the status and the API's error body (message = the API's message).
 */
export async function api<T = unknown>(path: string, options: ApiOptions = {}): Promise<T> {
  let res = await send(path, options);
  let body = await readBody(res);
  if (res.status === 403 && (body as ApiErrorBody)?.error?.code === 'csrf' && (await refreshSession())) {
    res = await send(path, options);
    body = await readBody(res);
  }
  if (!res.ok) {
    const e = (body as ApiErrorBody)?.error;
    if (res.status === 401) session.clear();
    let message = e?.message ?? `${res.status} ${res.statusText}`;
    if (res.status === 429) {
      const after = res.headers.get('retry-after');
      if (after) message = `${message} (try again in ${after} s)`;
    }
    throw new HttpError(message, res.status, body ?? {});
  }
  return body as T;
}

/** Re-reads the session (user and CSRF token) from `GET /api/me`. @returns false when not signed in. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= readSession().finally(() => { refreshing = null; });
  return refreshing;
}

let refreshing: Promise<boolean> | null = null;

async function readSession(): Promise<boolean> {
  const res = await send('/me', {});
  if (!res.ok) {
    if (res.status === 401) session.clear();
    return false;
  }
  const body = (await readBody(res)) as { user: Me; csrfToken: string };
  session.set(body.user, body.csrfToken);
  return true;
}
