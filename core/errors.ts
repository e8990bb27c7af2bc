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
