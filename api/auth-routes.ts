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
import { accountSecurity, findAccountByEmail, insertSession, revokeSession, viewerStanding, type AccountSecurity, type Db } from '../db/index.ts';
import { auditAccountEvent, isStaff, useTotpCode } from '../moderation/index.ts';
import { roles } from '../db/schema.ts';
import { SESSION_COOKIE, csrfTokenFor, type SessionCache } from './auth.ts';
import { LoginThrottle } from './login-limiter.ts';
import { isoTime, type ApiRouter } from './route.ts';

/**
 * The signed-in user as the API shows it (`Me` in the console's contract). `adult`: the account attested a date
 * of birth showing 18 or older (POST /api/me/birth-date); a client asks for it before playing a stream or joining chat.
 */
export const meSchema = z.object({
  id: z.string(), handle: z.string(), email: z.string().nullable(), role: z.enum(roles), permissions: z.array(z.string()), adult: z.boolean(),
  /** A date of birth was given (adult or not): a second attestation is refused, so clients do not ask again. */
  birthDateGiven: z.boolean(),
  /** Two-factor sign-in (TOTP) is on. */
  totpEnabled: z.boolean(),
  /** The account accepted the community guidelines (at sign-up; staff and seeded accounts may not have). */
  guidelinesAccepted: z.boolean(),
});
export type Me = z.infer<typeof meSchema>;

/** The `Me` of a user, read fresh from Postgres. @returns undefined for an unknown user. */
export async function meOf(db: Db, userId: string): Promise<Me | undefined> {
  const [account, standing] = await Promise.all([accountSecurity(db, userId), viewerStanding(db, userId)]);
  if (!account) return undefined;
  return {
    id: account.id, handle: account.handle, email: account.email, role: account.role, permissions: account.permissions, adult: standing?.adult ?? false,
    birthDateGiven: standing?.attested ?? false, totpEnabled: account.totpEnabledAt !== null, guidelinesAccepted: account.guidelinesAcceptedAt !== null,
  };
}

/** A new session's answer: the user, the CSRF token and the absolute expiry (login, sign-up, enrolment). */
export const sessionResponse = z.object({ user: meSchema, csrfToken: z.string(), expiresAt: isoTime });

/**
 * Starts a session for a user who just proved who they are: stores it (token hashed), audits `login` (with how:
 * password, password+totp, signup, enrolment), sets the HttpOnly SameSite=Strict cookie (Secure over TLS).
 * @param status 200 (sign-in) or 201 (sign-up).
 * @returns the JSON answer of {@link sessionResponse}.
 */
export async function startSession(c: Context, deps: Pick<AuthRouteDeps, 'db' | 'auth'>, userId: string, details: Record<string, unknown>, status: 200 | 201 = 200): Promise<Response> {
  const { db, auth } = deps;
  const ip = clientIp(c, auth.trustProxy);
  const token = randomToken();
  const expiresAt = new Date(Date.now() + auth.sessionMaxMs);
  const session = await insertSession(db, { userId, tokenHash: hashToken(token), expiresAt, ip, userAgent: c.req.header('user-agent') ?? null });
  await auditAccountEvent(db, { action: 'login', actor: { type: 'user', id: userId }, userId, details: { ip, sessionId: session.id, ...details } });
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure: isTls(c, auth.trustProxy), maxAge: Math.floor(auth.sessionMaxMs / 1000) });
  const user = await meOf(db, userId);
  return c.json({ user: user!, csrfToken: csrfTokenFor(token), expiresAt: expiresAt.toISOString() }, status);
}
/** An e-mail address in a body: trimmed, lower-cased, at most 254 characters. */
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email('not an e-mail address')).pipe(z.string().max(254));
/** A TOTP code as typed: 6 digits, spaces allowed. */
export const totpCodeSchema = z.string().transform((v) => v.replace(/\s+/g, '')).pipe(z.string().regex(/^\d{6}$/, 'the 6-digit code from your authenticator app'));
const loginBody = z.strictObject({ email: emailSchema, password: z.string().min(1, 'give a password').max(1024), totpCode: totpCodeSchema.optional() });

/**
 * The client's IP: the socket's; with `trustProxy`, the last X-Forwarded-For hop, which is the address the one
 * trusted proxy in front of Warden saw (the hops to its left are whatever the client sent, so trusting the
 * first would let anyone pick an address per request and escape the per-IP limit).
 */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const hop = c.req.header('x-forwarded-for')?.split(',').map((h) => h.trim()).filter(Boolean).at(-1);
    if (hop) return hop;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (tests) have no socket
  }
}

/** Whether the client reached us over TLS: the URL's scheme, or (trusted proxy) the original X-Forwarded-Proto. */
function isTls(c: Context, trustProxy: boolean): boolean {
  return new URL(c.req.url).protocol === 'https:' || (trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https');
}

/**
 * What the sign-in and account routes need: the database, Redis and its key prefix (throttle counters, enrolment
 * tokens), config.auth; `sessions`: the Redis copy of sessions (a logout or revocation drops its entry);
 * `config`: the data key (TOTP secrets; read at each request) and the public URL (links in mail).
 */
export interface AuthRouteDeps {
  db: Db; redis: Redis; prefix: string; auth: Config['auth']; sessions?: SessionCache;
  config: Pick<Config, 'dataKey' | 'web'>;
}

/** How long a staff member has to set up TOTP after signing in with their password. */
export const ENROLLMENT_TTL_MS = 10 * 60_000;

/**
 * Enrolment tokens: a staff account that signed in with the right password but has no second factor yet gets
 * one (random, 32 bytes; only its SHA-256 is the Redis key, expiring after {@link ENROLLMENT_TTL_MS}). It can
 * only set up TOTP (`POST /auth/totp/setup`) and enable it (`POST /auth/totp/enable`, which uses it up and
 * signs in); it is not a session.
 */
export class EnrollmentTokens {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}
  private key(token: string) { return `${this.prefix}:totp-enrol:${hashToken(token)}`; }

  /** A new token for a user. */
  async issue(userId: string): Promise<string> {
    const token = randomToken();
    await this.redis.set(this.key(token), userId, 'PX', ENROLLMENT_TTL_MS);
    return token;
  }

  /** The user of a live token, leaving it live. */
  async peek(token: string): Promise<string | null> {
    return this.redis.get(this.key(token));
  }

  /** Uses a token up. @returns its user, or null when it was unknown, expired or already used (by a concurrent request too). */
  async take(token: string): Promise<string | null> {
    return this.redis.getdel(this.key(token));
  }
}

/** @throws 503 `unavailable` when the server has no data key (TOTP secrets cannot be kept). */
export function requireDataKey(dataKey: string | null): string {
  if (!dataKey) throw new WardenError('unavailable', 'two-factor sign-in is not available: the server has no data key (set DATA_KEY, 64 hex digits) to keep TOTP secrets encrypted');
  return dataKey;
}

/**
 * Declares `POST /auth/login` (public), `POST /auth/logout` and `GET /me` (signed in) on the API router.
 * Login answers 401 `unauthenticated` with one message for a wrong password, an unknown e-mail and a disabled
 * account, 429 `rate_limited` with Retry-After over the throttle's limits (api/login-limiter.ts). With the right
 * password: an account with TOTP on and no code → 401 `totp_required` (not counted as a failure); a wrong or
 * reused code → 401 `totp_invalid` (counted); a staff account (moderator, senior moderator, admin) without TOTP →
 * 403 `totp_enrollment_required` with an `enrollmentToken` (see {@link EnrollmentTokens}); 503 when TOTP is
 * needed and the server has no data key.
 */
export function authRoutes(router: ApiRouter, deps: AuthRouteDeps): void {
  const { db, auth } = deps;
  const throttle = new LoginThrottle(deps.redis, deps.prefix, auth);
  const enrollments = new EnrollmentTokens(deps.redis, deps.prefix);

  router.add({
    method: 'post', path: '/auth/login', tag: 'auth', access: 'public', body: loginBody,
    summary: 'Signs in: sets the HttpOnly session cookie and returns the CSRF token for state-changing requests (429 after repeated failures)',
    response: sessionResponse,
  }, async ({ c, body }) => {
    const ip = clientIp(c as unknown as Context, auth.trustProxy);
    await throttle.begin(body.email, ip); // counted as a failure unless it succeeds
    let account: Awaited<ReturnType<typeof findAccountByEmail>>;
    let ok: boolean;
    try {
      account = await findAccountByEmail(db, body.email);
      ok = await verifyPassword(account?.passwordHash, body.password) && !!account && !account.disabledAt;
    } catch (err) {
      await throttle.cancel(body.email, ip);
      throw err;
    }
    if (!ok || !account) {
      await auditAccountEvent(db, {
        action: 'login_failed', actor: { type: 'system', id: 'auth' }, userId: account?.id ?? null,
        subject: { type: account ? 'user' : 'email', id: account?.id ?? createHash('sha256').update(body.email).digest('hex').slice(0, 16) },
        details: { ip, reason: !account ? 'unknown account' : account.disabledAt ? 'disabled' : 'wrong password' },
      });
      throw new WardenError('unauthenticated', 'wrong e-mail or password');
    }
    let security: AccountSecurity | undefined;
    try {
      security = await accountSecurity(db, account.id);
      if (!security) throw new WardenError('unauthenticated', 'wrong e-mail or password');
      if (security.totpEnabledAt || isStaff(account.role)) requireDataKey(deps.config.dataKey);
    } catch (err) {
      await throttle.cancel(body.email, ip);
      throw err;
    }
    if (security.totpEnabledAt) {
      if (!body.totpCode) {
        await throttle.cancel(body.email, ip); // the right password and no code yet: not a guess
        return c.json({ error: { code: 'totp_required', message: 'enter the 6-digit code from your authenticator app' } }, 401);
      }
      let check: Awaited<ReturnType<typeof useTotpCode>>;
      try {
        check = await useTotpCode(db, deps.config.dataKey, security, body.totpCode);
      } catch (err) {
        await throttle.cancel(body.email, ip);
        throw err;
      }
      if (!check.ok) { // counted as a failed sign-in (the throttle's attempt stays)
        await auditAccountEvent(db, { action: 'login_failed', actor: { type: 'system', id: 'auth' }, userId: account.id, details: { ip, reason: check.reason === 'replayed' ? 'totp code reused' : 'wrong totp code' } });
        return c.json({ error: { code: 'totp_invalid', message: 'that code is not right (or was already used); enter the current code from your authenticator app' } }, 401);
      }
      await throttle.succeeded(body.email, ip);
      return startSession(c as unknown as Context, deps, account.id, { via: 'password+totp' });
    }
    await throttle.succeeded(body.email, ip);
    if (isStaff(account.role)) {
      const enrollmentToken = await enrollments.issue(account.id);
      await auditAccountEvent(db, { action: 'totp_enrollment_required', actor: { type: 'system', id: 'auth' }, userId: account.id, details: { ip } });
      return c.json({
        error: { code: 'totp_enrollment_required', message: 'staff accounts sign in with a second factor: set up an authenticator app to continue' },
        enrollmentToken, enrollmentExpiresInS: Math.round(ENROLLMENT_TTL_MS / 1000),
      }, 403);
    }
    return startSession(c as unknown as Context, deps, account.id, { via: 'password' });
  });

  router.add({
    method: 'post', path: '/auth/logout', tag: 'auth', access: 'signed-in', status: 204, summary: 'Signs out: the session is revoked server-side and the cookie cleared',
  }, async ({ c, user }) => {
    if (user.sessionId) await revokeSession(db, user.sessionId);
    if (user.token) await deps.sessions?.drop(hashToken(user.token));
    await auditAccountEvent(db, { action: 'logout', actor: { type: 'user', id: user.userId }, userId: user.userId, details: { sessionId: user.sessionId } });
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isTls(c as unknown as Context, auth.trustProxy) });
    return c.body(null, 204);
  });

  router.add({
    method: 'get', path: '/me', tag: 'auth', access: 'signed-in', summary: 'The signed-in user (with `adult`: attested 18+) and the session\'s CSRF token (null for Bearer sessions)',
    response: z.object({ user: meSchema, csrfToken: z.string().nullable() }),
  }, async ({ c, user }) => {
    const me = await meOf(db, user.userId);
    if (!me) throw new WardenError('unauthenticated', 'this account no longer exists');
    return c.json({ user: me, csrfToken: user.via === 'cookie' && user.token ? csrfTokenFor(user.token) : null });
  });
}
