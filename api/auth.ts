/**
 * Session authentication, CSRF and role checks for API routes. The session token travels in the HttpOnly
 * `warden_session` cookie (browsers) or `Authorization: Bearer` (other clients); only its hash is stored.
 * A cookie-authenticated request that changes state must also carry `X-CSRF-Token`, a value derived from the
 * session token that a cross-site page cannot read (OWASP CSRF Prevention Cheat Sheet: synchronizer token,
 * on top of the Origin check and the JSON-only bodies in api/app.ts). Bearer requests carry no ambient
 * credential, so they need no CSRF token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Redis } from 'ioredis';
import { WardenError } from '../core/errors.ts';
import { hashToken } from '../core/tokens.ts';
import { sessionUser, type Db, type Role, type SessionUser } from '../db/index.ts';

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
 * A copy in Redis of the sessions Postgres recently vouched for, so the one route that must not wait on Postgres
 * (the panic button) can authenticate in one Redis round trip, and still works while Postgres is briefly down.
 * Written after every Postgres-checked request of a performer (not awaited), kept for the idle time (capped by the session's
 * absolute expiry), dropped at logout. Only routes declared with `auth: 'cached'` read it; a session revoked by
 * other means (the CLI) can therefore still raise a panic alert until its entry expires — never anything else.
 */
export class SessionCache {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly ttlMs: number) {}
  private key(tokenHash: string) { return `${this.prefix}:session:${tokenHash}`; }

  /** The cached user of a session, or null (unknown, expired, or Redis did not answer within `timeoutMs`). */
  async get(tokenHash: string, timeoutMs = 250): Promise<SessionUser | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const raw = await Promise.race([this.redis.get(this.key(tokenHash)), new Promise<null>((r) => { timer = setTimeout(() => r(null), timeoutMs); })]);
      if (!raw) return null;
      const u = JSON.parse(raw) as SessionUser & { expiresAt: string };
      return Date.parse(u.expiresAt) > Date.now() ? { ...u, expiresAt: new Date(u.expiresAt) } : null;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Records a session Postgres just vouched for. Never throws. */
  put(tokenHash: string, user: SessionUser): void {
    const ms = Math.min(this.ttlMs, user.expiresAt.getTime() - Date.now());
    if (ms <= 0) return;
    this.redis.set(this.key(tokenHash), JSON.stringify(user), 'PX', Math.round(ms)).catch(() => {});
  }

  /** Forgets a session (logout). */
  async drop(tokenHash: string): Promise<void> {
    await this.redis.del(this.key(tokenHash)).catch(() => {});
  }
}

function sessionToken(c: Context): { token: string; via: 'cookie' | 'bearer' } {
  const bearer = c.req.header('authorization')?.match(/^Bearer (.+)$/)?.[1];
  const token = bearer ?? getCookie(c, SESSION_COOKIE);
  if (!token) throw new WardenError('unauthenticated', 'sign in first');
  return { token, via: bearer ? 'bearer' : 'cookie' };
}

function admit(c: Context<AuthEnv>, user: SessionUser, token: string, via: 'cookie' | 'bearer'): void {
  if (via === 'cookie' && !SAFE_METHODS.has(c.req.method)) {
    const sent = c.req.header('x-csrf-token');
    if (!sent || !sameToken(sent, csrfTokenFor(token))) throw new WardenError('csrf', 'missing or wrong X-CSRF-Token header (get it from GET /api/me)');
  }
  c.set('user', { userId: user.userId, handle: user.handle, role: user.role, permissions: user.permissions, via, sessionId: user.sessionId, token });
}

/**
 * Resolves the session from Postgres; a route behind it always has `c.get('user')`.
 * @param opts.idleMs end sessions idle longer than this (default: only the absolute expiry applies).
 * @param opts.cache where to copy sessions Postgres vouched for (for {@link authenticateCached}).
 * @throws 401 without a live session; 403 `csrf` for a cookie-authenticated state change without the right token.
 */
export function authenticate(db: Db, opts: { idleMs?: number; cache?: SessionCache } = {}): MiddlewareHandler<AuthEnv> {
  return async function authenticateSession(c, next) {
    const { token, via } = sessionToken(c);
    const hash = hashToken(token);
    const user = await sessionUser(db, hash, opts.idleMs);
    if (!user) throw new WardenError('unauthenticated', 'session expired or unknown; sign in again');
    if (user.role === 'performer') opts.cache?.put(hash, user); // only performers have a panic button
    admit(c, user, token, via);
    await next();
  };
}

/**
 * Like {@link authenticate}, but answers from the {@link SessionCache} first (one Redis round trip, no Postgres);
 * a session not in the cache is checked in Postgres as usual. For the panic button only.
 */
export function authenticateCached(db: Db, cache: SessionCache, opts: { idleMs?: number } = {}): MiddlewareHandler<AuthEnv> {
  const slow = authenticate(db, { ...opts, cache });
  return async function authenticateFromCache(c, next) {
    const { token, via } = sessionToken(c);
    const user = await cache.get(hashToken(token));
    if (!user) return slow(c, next);
    admit(c, user, token, via);
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
