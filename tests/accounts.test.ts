// Accounts for everyone, on the real Postgres and Redis: sign-up with the community guidelines, TOTP two-factor
// sign-in (enrolment, replay, staff forced to enrol), the session list, password reset that does not tell whether
// an address has an account, and the mailer delivering the outbox to a real SMTP listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApi } from '../api/index.ts';
import { GUIDELINES } from '../rules/index.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

const PASSWORD = 'correct horse battery staple';
let env: TestEnv;
let app: ReturnType<typeof createApi>;
let ipSeq = 0;
/** A fresh client address per call unless given (the API trusts X-Forwarded-For here), so per-IP limits stay out of the way. */
const nextIp = () => `10.9.${Math.floor(++ipSeq / 250)}.${ipSeq % 250}`;

beforeAll(async () => {
  env = await createTestEnv();
  env.ctx.config.auth.trustProxy = true;
  app = createApi({ ctx: env.ctx });
});
afterAll(async () => env?.cleanup());

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A JSON request; `session` sends the cookie and its CSRF token. */
async function call(method: string, url: string, body?: unknown, opts: { session?: { token: string; csrf: string }; ip?: string } = {}) {
  const res = await app.request(`http://localhost${url}`, {
    method,
    headers: {
      'x-forwarded-for': opts.ip ?? nextIp(),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.session ? { cookie: `warden_session=${opts.session.token}`, 'x-csrf-token': opts.session.csrf } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const token = res.headers.get('set-cookie')?.match(/warden_session=([^;]+)/)?.[1] ?? '';
  const json = res.status === 204 ? {} : await res.json() as Json;
  return { status: res.status, body: json, token, session: { token, csrf: json.csrfToken as string } };
}

const signup = (over: Json = {}, ip?: string) => call('POST', '/api/auth/signup', {
  email: 'new@example.org', password: PASSWORD, handle: 'newbie', role: 'viewer', acceptGuidelines: true, guidelinesVersion: GUIDELINES.version, ...over,
}, { ip });

describe('sign-up', () => {
  it('serves the community guidelines with a version', async () => {
    const g = await call('GET', '/api/guidelines');
    expect(g.status).toBe(200);
    expect(g.body.version).toBe(GUIDELINES.version);
    expect(g.body.sections.length).toBeGreaterThan(3);
    expect(g.body.sections[0]).toEqual({ heading: expect.any(String), text: expect.any(String) });
  });

  it('creates a performer signed in like login, recording the accepted guidelines and auditing it', async () => {
    const r = await signup({ email: 'Perf.One@Example.org', handle: 'perf_one', role: 'performer' });
    expect(r.status).toBe(201);
    expect(r.body.user).toMatchObject({ email: 'perf.one@example.org', handle: 'perf_one', role: 'performer', totpEnabled: false, guidelinesAccepted: true, adult: false });
    expect(r.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await call('GET', '/api/me', undefined, { session: r.session });
    expect(me.body.user).toMatchObject({ handle: 'perf_one', guidelinesAccepted: true });
    const [row] = await env.ctx.db.execute<{ guidelines_version: string; accepted: boolean; password_hash: string }>(sql`select guidelines_version, guidelines_accepted_at > now() - interval '1 minute' as accepted, password_hash from users where handle = 'perf_one'`);
    expect(row).toMatchObject({ guidelines_version: GUIDELINES.version, accepted: true });
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
    const audit = await env.ctx.db.execute<{ action: string; details: Json }>(sql`select action, details from actions where user_id = ${r.body.user.id} order by id`);
    expect(audit.map((a) => a.action)).toEqual(['signup', 'login']);
    expect(audit[0]!.details).toMatchObject({ role: 'performer', guidelinesVersion: GUIDELINES.version });
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
  });

  it('applies the password and handle rules and requires the current guidelines', async () => {
    const cases: [Json, RegExp][] = [
      [{ password: 'short pw' }, /at least 10 characters/],
      [{ password: 'x'.repeat(257) }, /at most 256/],
      [{ password: '1234567890' }, /too common/],
      [{ password: 'zzzzzzzzzzzz' }, /too common/],
      [{ email: 'mirror.me@example.org', password: 'mirror.me@example.org' }, /e-mail address or handle/],
      [{ handle: 'Handle_As_Pw', password: 'handle_as_pw' }, /e-mail address or handle/],
      [{ handle: 'ab' }, /handle: 3–30 letters/],
      [{ handle: 'has space' }, /handle: 3–30 letters/],
      [{ handle: 'x'.repeat(31) }, /handle: 3–30 letters/],
      [{ acceptGuidelines: false }, /accept the community guidelines/],
      [{ guidelinesVersion: '1999-01-01' }, /guidelines are now version/],
      [{ role: 'admin' }, /role/],
      [{ email: 'not-an-address' }, /e-mail/],
    ];
    for (const [over, message] of cases) {
      const r = await signup({ email: `rules${ipSeq}@example.org`, handle: `rules${ipSeq}`, ...over });
      expect(r.status, JSON.stringify(over)).toBe(400);
      expect(r.body.error.message, JSON.stringify(over)).toMatch(message);
    }
    // no composition rules: any 10 characters of any script that are not common are fine
    expect((await signup({ email: 'unicode@example.org', handle: 'unicode-1', password: 'ÿëś ñø ćåpš' })).status).toBe(201);
  });

  it('answers a taken e-mail and a taken handle alike, in comparable time', async () => {
    expect((await signup({ email: 'taken@example.org', handle: 'taken_one' })).status).toBe(201);
    const sameEmail = await signup({ email: 'TAKEN@example.org', handle: 'fresh_handle' });
    const sameHandle = await signup({ email: 'fresh@example.org', handle: 'Taken_One' }); // handles are unique in any case
    expect(sameEmail.status).toBe(409);
    expect(sameHandle.status).toBe(409);
    expect(sameEmail.body.error.message).toBe(sameHandle.body.error.message);
    expect(sameEmail.token).toBe('');
    // the argon2id hash is computed before the database is asked, so a taken address costs what a new account does
    const time = async (over: Json) => { const t = performance.now(); await signup(over); return performance.now() - t; };
    const taken: number[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < 4; i++) {
      taken.push(await time({ email: 'taken@example.org', handle: `another_${i}` }));
      fresh.push(await time({ email: `fresh${i}@example.org`, handle: `fresh_${i}` }));
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    expect(median(taken)).toBeGreaterThan(median(fresh) * 0.5);
  });

  it('limits sign-ups per IP (429 with Retry-After)', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 10; i++) expect((await signup({ email: `burst${i}@example.org`, handle: `burst_${i}` }, ip)).status).toBe(201);
    const over = await signup({ email: 'burst10@example.org', handle: 'burst_10' }, ip);
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('rate_limited');
    expect((await signup({ email: 'burst10@example.org', handle: 'burst_10' })).status).toBe(201);
  });
});
