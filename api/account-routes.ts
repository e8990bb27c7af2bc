/**
 * Accounts for everyone: sign-up with the community guidelines (`POST /api/auth/signup`, `GET /api/guidelines`),
 * two-factor sign-in set-up (`POST /api/auth/totp/setup|enable|disable`), the session list with revoke
 * (`GET /api/auth/sessions`, `POST /api/auth/sessions/:id/revoke`) and password reset
 * (`POST /api/auth/password-reset`, `POST /api/auth/password-reset/confirm`). Sign-in itself is api/auth-routes.ts.
 */
import type { Context } from 'hono';
import QRCode from 'qrcode';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { findAccountByEmail, accountSecurity, listUserSessions } from '../db/index.ts';
import {
  HANDLE_PATTERN, accountPasswordProblem, auditAccountEvent, confirmPasswordReset, disableTotp, enableTotp, requestPasswordReset, revokeOwnSessionAudited, signUp, startTotpEnrolment,
} from '../moderation/index.ts';
import { GUIDELINES } from '../rules/index.ts';
import { authenticate, type AuthEnv, type AuthUser } from './auth.ts';
import { EnrollmentTokens, clientIp, emailSchema, requireDataKey, sessionResponse, startSession, totpCodeSchema, type AuthRouteDeps } from './auth-routes.ts';
import { LoginThrottle, RateCounter } from './login-limiter.ts';
import { idParams, iso, isoTime, type ApiRouter } from './route.ts';

/** Sign-ups allowed per client IP per window (an office behind one address still fits; a script does not). */
export const SIGNUP_LIMIT = { perIp: 10, windowMs: 3_600_000 };
/**
 * Password-reset requests: per address (more are answered alike but send nothing), per client IP (429), and
 * confirmations per client IP (429). Windows in ms.
 */
export const RESET_LIMIT = { perAddress: 3, perIp: 20, confirmPerIp: 30, windowMs: 3_600_000 };
/** A reset request is answered no sooner than this after it arrived (ms), whichever path it took, so its time tells nothing. */
export const RESET_ANSWER_FLOOR_MS = 250;

const signupBody = z.strictObject({
  email: emailSchema,
  password: z.string().min(1, 'give a password').max(1024),
  handle: z.string().trim().regex(HANDLE_PATTERN, '3–30 letters, digits, _ or -'),
  role: z.enum(['performer', 'viewer']),
  acceptGuidelines: z.literal(true, 'accept the community guidelines to sign up'),
  guidelinesVersion: z.string().min(1).max(40),
});

/** One message for a taken e-mail and a taken handle, so the answer does not say which (or that an address has an account). */
const TAKEN = 'this e-mail address or handle cannot be used: choose another handle, or sign in (or reset your password) if you already have an account';

/**
 * Declares `GET /guidelines` and `POST /auth/signup` (both public).
 * Sign-up answers 201 with a session like login; 400 naming the problem (password rules: accountPasswordProblem;
 * handle; guidelines not accepted or another version); 409 `conflict` with one message for a taken e-mail or
 * handle (after the same argon2id work as a new account); 429 over {@link SIGNUP_LIMIT} per IP.
 */
export function accountRoutes(router: ApiRouter, deps: AuthRouteDeps): void {
  const { db, auth } = deps;
  const limits = new RateCounter(deps.redis, deps.prefix);
  const throttle = new LoginThrottle(deps.redis, deps.prefix, auth);
  const enrollments = new EnrollmentTokens(deps.redis, deps.prefix);
  const sessionCheck = authenticate(db, { idleMs: auth.sessionIdleMs, cache: deps.sessions });

  router.add({
    method: 'get', path: '/guidelines', tag: 'auth', access: 'public',
    summary: 'The community guidelines every account accepts at sign-up, with their version',
    response: z.object({ version: z.string(), title: z.string(), sections: z.array(z.object({ heading: z.string(), text: z.string() })) }),
  }, ({ c }) => {
    c.header('cache-control', 'public, max-age=300');
    return c.json(GUIDELINES);
  });

  router.add({
    method: 'post', path: '/auth/signup', tag: 'auth', access: 'public', body: signupBody, status: 201,
    summary: 'Creates a performer or viewer account that accepts the current community guidelines, and signs it in (cookie and CSRF token, as login)',
    response: sessionResponse,
  }, async ({ c, body }) => {
    const ip = clientIp(c as unknown as Context, auth.trustProxy);
    if (body.guidelinesVersion !== GUIDELINES.version) {
      throw new WardenError('bad_request', `guidelinesVersion: the community guidelines are now version ${GUIDELINES.version}; read and accept them again`);
    }
    const problem = accountPasswordProblem(body.password, body);
    if (problem) throw new WardenError('bad_request', `password: ${problem}`);
    await limits.take('signup-ip', ip, SIGNUP_LIMIT.perIp, SIGNUP_LIMIT.windowMs, 'too many sign-ups from this address; try again later');
    const created = await signUp(db, { email: body.email, handle: body.handle, role: body.role, password: body.password, guidelinesVersion: body.guidelinesVersion, ip });
    if (!created) throw new WardenError('conflict', TAKEN);
    return startSession(c as unknown as Context, deps, created.userId, { via: 'signup' }, 201);
  });

  /**
   * Who set-up and enable act for: the enrolment token's user (its e-mail for the throttle) or the signed-in user.
   * @throws 401 with neither (or an expired token); 403 `csrf` as any cookie session.
   */
  async function enrollee(c: Context<AuthEnv>, enrollmentToken: string | undefined): Promise<{ userId: string; email: string; viaToken: boolean; user?: AuthUser }> {
    if (enrollmentToken) {
      const userId = await enrollments.peek(enrollmentToken);
      if (!userId) throw new WardenError('unauthenticated', 'the set-up time ran out; sign in again');
      const account = await accountSecurity(db, userId);
      if (!account || account.disabled) throw new WardenError('unauthenticated', 'sign in again');
      return { userId, email: account.email ?? userId, viaToken: true };
    }
    await sessionCheck(c, async () => {});
    const user = c.get('user');
    const account = await accountSecurity(db, user.userId);
    return { userId: user.userId, email: account?.email ?? user.userId, viaToken: false, user };
  }

  const totpSetupResponse = z.object({ secret: z.string().describe('base32, to type into an app by hand'), otpauthUrl: z.string(), qrDataUrl: z.string().describe('the otpauth URL as a PNG QR code (data: URL)') });
  router.add({
    method: 'post', path: '/auth/totp/setup', tag: 'auth', access: 'public',
    body: z.strictObject({ enrollmentToken: z.string().min(20).max(100).optional() }),
    summary: 'Starts two-factor (TOTP) set-up for the signed-in user, or for a staff member with the enrolment token from login: a new secret, its otpauth URL and QR code (the secret is shown only now; sign-in does not need it until enabled)',
    response: totpSetupResponse,
  }, async ({ c, body }) => {
    requireDataKey(deps.config.dataKey);
    const who = await enrollee(c, body.enrollmentToken);
    const { secret, otpauthUrl } = await startTotpEnrolment(db, deps.config.dataKey, who.userId);
    const qrDataUrl = await QRCode.toDataURL(otpauthUrl, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
    return c.json({ secret, otpauthUrl, qrDataUrl });
  });

  router.add({
    method: 'post', path: '/auth/totp/enable', tag: 'auth', access: 'public',
    body: z.strictObject({ code: totpCodeSchema, enrollmentToken: z.string().min(20).max(100).optional() }),
    summary: 'Turns two-factor sign-in on with a code from the app (wrong codes count as failed sign-ins). With the enrolment token it also signs in, as login does',
    response: z.union([sessionResponse, z.object({ totpEnabled: z.literal(true) })]),
  }, async ({ c, body }) => {
    requireDataKey(deps.config.dataKey);
    const ip = clientIp(c as unknown as Context, auth.trustProxy);
    const who = await enrollee(c, body.enrollmentToken);
    await throttle.begin(who.email, ip);
    let check: Awaited<ReturnType<typeof enableTotp>>;
    try {
      check = await enableTotp(db, deps.config.dataKey, who.userId, body.code, who.viaToken ? 'enrolment' : 'settings');
    } catch (err) {
      await throttle.cancel(who.email, ip);
      throw err;
    }
    if (!check.ok) {
      if (who.viaToken) await auditAccountEvent(db, { action: 'login_failed', actor: { type: 'system', id: 'auth' }, userId: who.userId, details: { ip, reason: 'wrong totp code at enrolment' } });
      return c.json({ error: { code: 'totp_invalid', message: 'that code is not right; enter the current code from your authenticator app' } }, 401);
    }
    await throttle.succeeded(who.email, ip);
    if (!who.viaToken) return c.json({ totpEnabled: true as const });
    await enrollments.take(body.enrollmentToken!); // used up (TOTP is on now, so the token could do nothing more anyway)
    return startSession(c as unknown as Context, deps, who.userId, { via: 'password+totp-enrolment' });
  });

  router.add({
    method: 'post', path: '/auth/totp/disable', tag: 'auth', access: 'signed-in', body: z.strictObject({ code: totpCodeSchema }),
    summary: 'Turns two-factor sign-in off with a current code (not for staff: moderators, senior moderators and admins keep it; wrong codes count as failed sign-ins)',
    response: z.object({ totpEnabled: z.literal(false) }),
  }, async ({ c, body, user }) => {
    const ip = clientIp(c as unknown as Context, auth.trustProxy);
    const email = (await accountSecurity(db, user.userId))?.email ?? user.userId;
    await throttle.begin(email, ip);
    let check: Awaited<ReturnType<typeof disableTotp>>;
    try {
      check = await disableTotp(db, deps.config.dataKey, user.userId, body.code);
    } catch (err) {
      await throttle.cancel(email, ip);
      throw err;
    }
    if (!check.ok) return c.json({ error: { code: 'totp_invalid', message: 'that code is not right (or was already used); enter the current code from your authenticator app' } }, 401);
    await throttle.succeeded(email, ip);
    return c.json({ totpEnabled: false as const });
  });

  router.add({
    method: 'get', path: '/auth/sessions', tag: 'auth', access: 'signed-in',
    summary: 'The signed-in user\'s live sessions (devices), most recently used first; `current` marks this one',
    response: z.array(z.object({ id: z.string(), createdAt: isoTime, lastSeenAt: isoTime, expiresAt: isoTime, ip: z.string().nullable(), userAgent: z.string().nullable(), current: z.boolean() })),
  }, async ({ c, user }) => {
    const rows = await listUserSessions(db, user.userId);
    return c.json(rows.map((s) => ({ id: s.id, createdAt: iso(s.createdAt), lastSeenAt: iso(s.lastSeenAt), expiresAt: iso(s.expiresAt), ip: s.ip, userAgent: s.userAgent, current: s.id === user.sessionId })));
  });

  router.add({
    method: 'post', path: '/auth/sessions/:id/revoke', tag: 'auth', access: 'signed-in', params: idParams, status: 204,
    summary: 'Ends one of the signed-in user\'s sessions (404 when it is not theirs or already ended)',
  }, async ({ c, params, user }) => {
    const tokenHash = await revokeOwnSessionAudited(db, user.userId, params.id, params.id === user.sessionId);
    if (!tokenHash) throw new WardenError('not_found', 'no such live session of yours');
    await deps.sessions?.drop(tokenHash);
    return c.body(null, 204);
  });

  const RESET_ANSWER = { message: 'If an account uses this address, we have sent it a link to choose a new password. The link works for 30 minutes.' };
  router.add({
    method: 'post', path: '/auth/password-reset', tag: 'auth', access: 'public', body: z.strictObject({ email: emailSchema }), status: 202,
    summary: 'Asks for a password-reset link by e-mail. Always 202 with the same body and in comparable time, whether or not an account uses the address (429 only when one client asks too often)',
    response: z.object({ message: z.string() }),
  }, async ({ c, body }) => {
    const started = performance.now();
    const ip = clientIp(c as unknown as Context, auth.trustProxy);
    await limits.take('reset-ip', ip, RESET_LIMIT.perIp, RESET_LIMIT.windowMs, 'too many password-reset requests from this address; try again later');
    const addressWaitMs = await limits.hit('reset-address', body.email, RESET_LIMIT.perAddress, RESET_LIMIT.windowMs);
    if (addressWaitMs === 0) {
      await requestPasswordReset(db, { email: body.email, ip, publicUrl: deps.config.web.publicUrl });
    } else {
      await findAccountByEmail(db, body.email); // about the same work as a request, and nothing sent
    }
    const wait = RESET_ANSWER_FLOOR_MS - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return c.json(RESET_ANSWER, 202);
  });

  router.add({
    method: 'post', path: '/auth/password-reset/confirm', tag: 'auth', access: 'public',
    body: z.strictObject({ token: z.string().min(20).max(100), password: z.string().min(1, 'give a password').max(1024) }), status: 204,
    summary: 'Sets a new password with the token from the reset e-mail (one use, 30 minutes); every session of the account ends',
  }, async ({ c, body }) => {
    const ip = clientIp(c as unknown as Context, auth.trustProxy);
    await limits.take('reset-confirm-ip', ip, RESET_LIMIT.confirmPerIp, RESET_LIMIT.windowMs, 'too many attempts from this address; try again later');
    const r = await confirmPasswordReset(db, { token: body.token, password: body.password, ip });
    await Promise.all(r.sessionTokenHashes.map((h) => deps.sessions?.drop(h)));
    return c.body(null, 204);
  });
}
