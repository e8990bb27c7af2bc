/**
 * Accounts for everyone: sign-up with the community guidelines (`POST /api/auth/signup`, `GET /api/guidelines`).
 * Sign-in, TOTP and sessions are in api/auth-routes.ts.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { HANDLE_PATTERN, accountPasswordProblem, signUp } from '../moderation/index.ts';
import { GUIDELINES } from '../rules/index.ts';
import { clientIp, emailSchema, sessionResponse, startSession, type AuthRouteDeps } from './auth-routes.ts';
import { RateCounter } from './login-limiter.ts';
import type { ApiRouter } from './route.ts';

/** Sign-ups allowed per client IP per window (an office behind one address still fits; a script does not). */
export const SIGNUP_LIMIT = { perIp: 10, windowMs: 3_600_000 };

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
}
