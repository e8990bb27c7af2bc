/**
 * Session authentication, CSRF and role checks for API routes. The session token travels in the HttpOnly
 * `warden_session` cookie (browsers) or `Authorization: Bearer` (other clients); only its hash is stored.
 * A cookie-authenticated request that changes state must also carry `X-CSRF-Token`, a value derived from the
 * session token that a cross-site page cannot read (OWASP CSRF Prevention Cheat Sheet: synchronizer token,
 * on top of the Origin check and the JSON-only bodies in api/app.ts). Bearer requests carry no ambient
 * credential, so they need no CSRF token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { WardenError } from '../core/errors.ts';
import { hashToken } from '../core/tokens.ts';
import { sessionUser, type Db, type Role } from '../db/index.ts';

/** The session cookie's name. */
export const SESSION_COOKIE = 'warden_session';

/** The signed-in user, set on the context by {@link authenticate}. */
export interface AuthUser {
  userId: string;
  handle: string;
  role: Role;
  permissions?: string[];
  /** How the session came: a cookie (browser; CSRF-checked) or a Bearer header. */
  via?: 'cookie' | 'bearer';
  sessionId?: string;
  /** The session token itself (to derive the CSRF token for /me). */
  token?: string;
}
export type AuthEnv = { Variables: { user: AuthUser } };

/** The CSRF token of a session: base64url SHA-256 of a label and the session token. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`warden-csrf\n${sessionToken}`, 'utf8').digest('base64url');
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves the session; a route behind it always has `c.get('user')`.
 * @param opts.idleMs end sessions idle longer than this (default: only the absolute expiry applies).
 * @throws 401 without a live session; 403 `csrf` for a cookie-authenticated state change without the right token.
 */
export function authenticate(db: Db, opts: { idleMs?: number } = {}): MiddlewareHandler<AuthEnv> {
  return async function authenticateSession(c, next) {
    const bearer = c.req.header('authorization')?.match(/^Bearer (.+)$/)?.[1];
    const cookie = getCookie(c, SESSION_COOKIE);
    const token = bearer ?? cookie;
    if (!token) throw new WardenError('unauthenticated', 'sign in first');
    const user = await sessionUser(db, hashToken(token), opts.idleMs);
    if (!user) throw new WardenError('unauthenticated', 'session expired or unknown; sign in again');
    const via = bearer ? 'bearer' : 'cookie';
    if (via === 'cookie' && !SAFE_METHODS.has(c.req.method)) {
      const sent = c.req.header('x-csrf-token');
      if (!sent || !sameToken(sent, csrfTokenFor(token))) throw new WardenError('csrf', 'missing or wrong X-CSRF-Token header (get it from GET /api/me)');
    }
    c.set('user', { userId: user.userId, handle: user.handle, role: user.role, permissions: user.permissions, via, sessionId: user.sessionId, token });
    await next();
  };
}

/** Allows only the given roles. @throws 403 for any other. */
export function requireRole(...roles: Role[]): MiddlewareHandler<AuthEnv> {
  return async function checkRole(c, next) {
    if (!roles.includes(c.get('user').role)) throw new WardenError('forbidden', `this needs the role ${roles.join(' or ')}`);
    await next();
  };
}
