/**
 * Signing in and out: `POST /api/auth/login` (argon2id check, throttled per account and per client IP, an
 * HttpOnly SameSite=Strict cookie, Secure over TLS), `POST /api/auth/logout` (revoked server-side) and
 * `GET /api/me`. Every sign-in, failed sign-in and sign-out is in the audit log.
 */
import { createHash } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../core/config.ts';
import { WardenError } from '../core/errors.ts';
import { verifyPassword } from '../core/passwords.ts';
import { hashToken, randomToken } from '../core/tokens.ts';
import { findAccountByEmail, getUser, insertSession, revokeSession, type Db } from '../db/index.ts';
import { auditAccountEvent } from '../moderation/index.ts';
import { roles } from '../db/schema.ts';
import { SESSION_COOKIE, csrfTokenFor } from './auth.ts';
import { isoTime, type ApiRouter } from './route.ts';

export const meSchema = z.object({ id: z.string(), handle: z.string(), email: z.string().nullable(), role: z.enum(roles), permissions: z.array(z.string()) });
const loginBody = z.strictObject({ email: z.string().trim().toLowerCase().pipe(z.email('not an e-mail address')).pipe(z.string().max(254)), password: z.string().min(1, 'give a password').max(1024) });

/** A 429 that tells the client when to try again (the API sets Retry-After from it). */
class RateLimited extends WardenError {
  constructor(message: string, readonly retryAfterS: number) { super('rate_limited', message); }
}

/** The client's IP: the socket's, or the first X-Forwarded-For hop when a trusted proxy sets it. */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (fwd) return fwd;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (tests) have no socket
  }
}

function isTls(c: Context, trustProxy: boolean): boolean {
  return new URL(c.req.url).protocol === 'https:' || (trustProxy && c.req.header('x-forwarded-proto') === 'https');
}

/**
 * Failed sign-ins per account and per IP in a fixed window (Redis counters with expiry, shared by every API node).
 * Checked before the password is, so a locked account costs no argon2 work.
 */
class LoginThrottle {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly cfg: Config['auth']) {}
  private keys(email: string, ip: string) {
    const acct = createHash('sha256').update(email).digest('hex').slice(0, 32);
    return { acct: `${this.prefix}:login:acct:${acct}`, ip: `${this.prefix}:login:ip:${ip}` };
  }
  /** @throws RateLimited when either counter is at its limit. */
  async check(email: string, ip: string): Promise<void> {
    const k = this.keys(email, ip);
    const res = (await this.redis.multi().get(k.acct).get(k.ip).pttl(k.acct).pttl(k.ip).exec()) ?? [];
    const [a, i, aTtl, iTtl] = res.map(([, v]) => v as string | number | null);
    if (Number(a ?? 0) >= this.cfg.maxFailuresPerAccount) throw new RateLimited('too many failed sign-ins for this account; try again later', Math.ceil(Math.max(1000, Number(aTtl)) / 1000));
    if (Number(i ?? 0) >= this.cfg.maxFailuresPerIp) throw new RateLimited('too many failed sign-ins from this address; try again later', Math.ceil(Math.max(1000, Number(iTtl)) / 1000));
  }
  async fail(email: string, ip: string): Promise<void> {
    const k = this.keys(email, ip);
    await this.redis.multi().incr(k.acct).pexpire(k.acct, this.cfg.loginWindowMs, 'NX').incr(k.ip).pexpire(k.ip, this.cfg.loginWindowMs, 'NX').exec();
  }
  async succeed(email: string, ip: string): Promise<void> {
    await this.redis.del(this.keys(email, ip).acct);
  }
}

/** Declares the sign-in routes. */
export function authRoutes(router: ApiRouter, deps: { db: Db; redis: Redis; prefix: string; auth: Config['auth'] }): void {
  const { db, auth } = deps;
  const throttle = new LoginThrottle(deps.redis, deps.prefix, auth);

  router.add({
    method: 'post', path: '/auth/login', tag: 'auth', access: 'public', body: loginBody,
    summary: 'Signs in: sets the HttpOnly session cookie and returns the CSRF token for state-changing requests (429 after repeated failures)',
    response: z.object({ user: meSchema, csrfToken: z.string(), expiresAt: isoTime }),
  }, async ({ c, body }) => {
    const ip = clientIp(c as unknown as Context, auth.trustProxy);
    await throttle.check(body.email, ip);
    const account = await findAccountByEmail(db, body.email);
    const ok = await verifyPassword(account?.passwordHash, body.password) && account && !account.disabledAt;
    if (!ok || !account) {
      await throttle.fail(body.email, ip);
      await auditAccountEvent(db, {
        action: 'login_failed', actor: { type: 'system', id: 'auth' }, userId: account?.id ?? null,
        subject: { type: account ? 'user' : 'email', id: account?.id ?? createHash('sha256').update(body.email).digest('hex').slice(0, 16) },
        details: { ip, reason: !account ? 'unknown account' : account.disabledAt ? 'disabled' : 'wrong password' },
      });
      throw new WardenError('unauthenticated', 'wrong e-mail or password');
    }
    await throttle.succeed(body.email, ip);
    const token = randomToken();
    const expiresAt = new Date(Date.now() + auth.sessionMaxMs);
    const session = await insertSession(db, { userId: account.id, tokenHash: hashToken(token), expiresAt, ip, userAgent: c.req.header('user-agent') ?? null });
    await auditAccountEvent(db, { action: 'login', actor: { type: 'user', id: account.id }, userId: account.id, details: { ip, sessionId: session.id } });
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure: isTls(c as unknown as Context, auth.trustProxy), maxAge: Math.floor(auth.sessionMaxMs / 1000) });
    return c.json({
      user: { id: account.id, handle: account.handle, email: account.email, role: account.role, permissions: account.permissions },
      csrfToken: csrfTokenFor(token), expiresAt: expiresAt.toISOString(),
    });
  });

  router.add({
    method: 'post', path: '/auth/logout', tag: 'auth', access: 'signed-in', status: 204, summary: 'Signs out: the session is revoked server-side and the cookie cleared',
  }, async ({ c, user }) => {
    if (user.sessionId) await revokeSession(db, user.sessionId);
    await auditAccountEvent(db, { action: 'logout', actor: { type: 'user', id: user.userId }, userId: user.userId, details: { sessionId: user.sessionId } });
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isTls(c as unknown as Context, auth.trustProxy) });
    return c.body(null, 204);
  });

  router.add({
    method: 'get', path: '/me', tag: 'auth', access: 'signed-in', summary: 'The signed-in user and the session\'s CSRF token (null for Bearer sessions)',
    response: z.object({ user: meSchema, csrfToken: z.string().nullable() }),
  }, async ({ c, user }) => {
    const account = await getUser(db, user.userId);
    return c.json({
      user: { id: user.userId, handle: user.handle, email: account?.email ?? null, role: user.role, permissions: user.permissions ?? [] },
      csrfToken: user.via === 'cookie' && user.token ? csrfTokenFor(user.token) : null,
    });
  });
}
