/** Error codes shared by the API and the CLI; each maps to one HTTP status. */

export const errorStatus = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  csrf: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** An expected failure with a stable code; the API renders it as `{ error: { code, message } }`. */
export class WardenError extends Error {
  override name = 'WardenError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  get status(): number {
    return errorStatus[this.code];
  }
}

/** Text of any thrown value, for logs and error rows. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** postgres.js's own codes for a connection that failed, closed, ended or timed out. */
const PG_CONNECTION_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);
/** Socket errors met while connecting to or talking with the database server. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** SQLSTATEs that mean "the server cannot serve you now": admin/crash shutdown, starting up, too many connections. */
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * Whether an error means PostgreSQL cannot be reached or is not serving right now (rather than a bug or a refused
 * query): postgres.js's connection errors (`CONNECTION_CLOSED`, `CONNECT_TIMEOUT`, …), socket errors while talking
 * to it (`ECONNREFUSED`, `ECONNRESET`, …), SQLSTATE class 08 (connection exception), 57P01–57P03 (shutting down,
 * starting up) and 53300 (too many connections), and {@link WardenError} `unavailable` from connecting to it.
 * Looks through `cause` chains (drizzle wraps driver errors in a DrizzleQueryError), five deep at most; a failed
 * `fetch` (a webhook) is not the database and is not looked into.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    if (e instanceof TypeError && e.message === 'fetch failed') return false;
    if (e instanceof WardenError) return e.code === 'unavailable' && /PostgreSQL/.test(e.message);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (PG_CONNECTION_CODES.has(code) || SOCKET_CODES.has(code) || PG_UNAVAILABLE_STATES.has(code)) return true;
      if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether an error means Redis cannot be reached right now (ioredis gave up on a command, or the connection is
 * closed or not writable), rather than a refused command.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable|Redis did not answer/.test(err.message);
}
