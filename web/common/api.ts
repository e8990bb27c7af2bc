/**
 * The web apps' way to the API: `fetch` with the session cookie (same origin), JSON bodies (or a FormData for
 * uploads), the CSRF token on every state-changing request, and failures as {@link ApiError} (status and the
 * API's `{ error: { code, message } }`). A 403 `csrf` (the token went stale) refreshes it from /api/me and
 * retries once.
 */

const CSRF_KEY = 'warden.csrf';

/** A failed API call: HTTP status (0: the network failed), the API's error code and message. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string, readonly body?: unknown) {
    super(message);
  }
}

/** The CSRF token of the signed-in session (memory + sessionStorage, so a reload keeps it). */
export const csrf = {
  token: read(),
  set(token: string | null): void {
    this.token = token;
    try { if (token) sessionStorage.setItem(CSRF_KEY, token); else sessionStorage.removeItem(CSRF_KEY); } catch { /* storage off: memory only */ }
  },
};

function read(): string | null {
  try { return sessionStorage.getItem(CSRF_KEY); } catch { return null; }
}

/** Options of {@link api}. `query` values that are undefined, null or '' are left out. */
export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** JSON-serialisable, or a FormData (multipart upload). */
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  signal?: AbortSignal;
}

/** `/api<path>?<query>`. */
export function apiUrl(path: string, query?: ApiOptions['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return `/api${path}${s ? `?${s}` : ''}`;
}

async function send(path: string, opts: ApiOptions): Promise<Response> {
  const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) { body = JSON.stringify(opts.body); headers['content-type'] = 'application/json'; }
  if (method !== 'GET' && csrf.token) headers['x-csrf-token'] = csrf.token;
  try {
    return await fetch(apiUrl(path, opts.query), { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'the server could not be reached');
  }
}

/**
 * Calls the API and returns its JSON (undefined for 204).
 * @throws ApiError for any non-2xx answer or a network failure.
 */
export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  let res = await send(path, opts);
  if (res.status === 403 && (opts.method ?? 'POST') !== 'GET') {
    const peek = await res.clone().json().catch(() => null) as { error?: { code?: string } } | null;
    if (peek?.error?.code === 'csrf') {
      const me = await fetch('/api/me', { credentials: 'same-origin' });
      if (me.ok) { csrf.set(((await me.json()) as { csrfToken?: string }).csrfToken ?? null); res = await send(path, opts); }
    }
  }
  if (res.status === 204) return undefined as T;
  const json = await res.json().catch(() => null) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) throw new ApiError(res.status, json?.error?.code ?? 'error', json?.error?.message ?? `request failed (${res.status})`, json);
  return json as T;
}
