/**
 * Session authentication and role checks for API routes. The session token travels in the HttpOnly
 * `warden_session` cookie (or `Authorization: Bearer` for non-browser clients); only its hash is stored.
 * Logging in arrives with the review console; sessions are created by the login flow (or seeding) until then.
 */
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { WardenError } from '../core/errors.ts';
import { hashToken } from '../core/tokens.ts';
import { sessionUser, type Db, type Role } from '../db/index.ts';

/** The signed-in user, set on the context by {@link authenticate}. */
export interface AuthUser { userId: string; handle: string; role: Role; permissions?: string[] }
export type AuthEnv = { Variables: { user: AuthUser } };

/** Resolves the session; a route behind it always has `c.get('user')`. @throws 401 without a live session. */
export function authenticate(db: Db): MiddlewareHandler<AuthEnv> {
  return async function authenticateSession(c, next) {
    const bearer = c.req.header('authorization')?.match(/^Bearer (.+)$/)?.[1];
    const token = getCookie(c, 'warden_session') ?? bearer;
    if (!token) throw new WardenError('unauthenticated', 'sign in first');
    const user = await sessionUser(db, hashToken(token));
    if (!user) throw new WardenError('unauthenticated', 'session expired or unknown');
    c.set('user', user);
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
