// Accounts for everyone, on the real Postgres and Redis: sign-up with the community guidelines, TOTP two-factor
// sign-in (enrolment, replay, staff forced to enrol), the session list, password reset that does not tell whether
// an address has an account, and the mailer delivering the outbox to a real SMTP listener.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApi } from '../api/index.ts';
import { GUIDELINES } from '../rules/index.ts';
import { seedAccount } from '../bin/seed.ts';
import { totpCode } from '../core/totp.ts';
import { hashPassword } from '../core/passwords.ts';
import { Mailer } from '../moderation/index.ts';
import { DEMO_ACCOUNTS, demoOtpauthUrl, seedDemoAccounts, signIn } from '../bin/demo-review.ts';
import { serve, type ServerType } from '@hono/node-server';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
    const hashing: number[] = [];
    for (let i = 0; i < 4; i++) { const t = performance.now(); await hashPassword(PASSWORD); hashing.push(performance.now() - t); }
    console.log(`sign-up answer time (ms), taken: ${taken.map((x) => x.toFixed(0)).join(' ')}; new: ${fresh.map((x) => x.toFixed(0)).join(' ')}; one argon2id hash: ${hashing.map((x) => x.toFixed(0)).join(' ')}`);
    expect(median(taken)).toBeGreaterThan(median(hashing) * 0.8); // a taken address pays for the hash too
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

const login = (email: string, password = PASSWORD, totp?: string, ip?: string) =>
  call('POST', '/api/auth/login', { email, password, ...(totp ? { totpCode: totp } : {}) }, { ip });
const NEXT_STEP = () => Date.now() + 30_000;
const actions = async (userId: string) =>
  (await env.ctx.db.execute<{ action: string; details: Json }>(sql`select action, details from actions where user_id = ${userId} order by id`));

describe('two-factor sign-in (TOTP)', () => {
  it('a viewer enrols from their settings; sign-in then needs a code, and a code works once', async () => {
    const r = await signup({ email: 'twofa@example.org', handle: 'twofa' });
    const s = r.session;
    const setup = await call('POST', '/api/auth/totp/setup', {}, { session: s });
    expect(setup.status).toBe(200);
    expect(setup.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(setup.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Warden:twofa%40example\.org\?issuer=Warden&secret=[A-Z2-7]{32}/);
    expect(setup.body.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    const [stored] = await env.ctx.db.execute<{ totp_secret: string; totp_enabled_at: Date | null }>(sql`select totp_secret, totp_enabled_at from users where handle = 'twofa'`);
    expect(stored!.totp_secret).not.toContain(setup.body.secret); // sealed
    expect(stored!.totp_enabled_at).toBeNull();
    // not required before it is confirmed
    expect((await login('twofa@example.org')).status).toBe(200);
    const secret = setup.body.secret as string;
    const wrong = await call('POST', '/api/auth/totp/enable', { code: totpCode(secret, Date.now() - 5 * 60_000) }, { session: s });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('totp_invalid');
    const on = await call('POST', '/api/auth/totp/enable', { code: totpCode(secret) }, { session: s });
    expect(on.status).toBe(200);
    expect(on.body).toEqual({ totpEnabled: true });
    expect((await call('GET', '/api/me', undefined, { session: s })).body.user.totpEnabled).toBe(true);
    expect((await call('POST', '/api/auth/totp/setup', {}, { session: s })).status).toBe(409);

    const bare = await login('twofa@example.org');
    expect(bare.status).toBe(401);
    expect(bare.body.error.code).toBe('totp_required');
    expect(bare.token).toBe('');
    const badPassword = await login('twofa@example.org', 'not the password at all', totpCode(secret));
    expect(badPassword.body.error.code).toBe('unauthenticated'); // the code is not even looked at
    // the enabling code's step is used: the same code does not sign in; the next step's does, once
    expect((await login('twofa@example.org', PASSWORD, totpCode(secret))).body.error.code).toBe('totp_invalid');
    const code = totpCode(secret, NEXT_STEP());
    const ok = await login('twofa@example.org', PASSWORD, code);
    expect(ok.status).toBe(200);
    expect(ok.body.user.totpEnabled).toBe(true);
    const replay = await login('twofa@example.org', PASSWORD, code);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('totp_invalid');
    const log = await actions(r.body.user.id);
    expect(log.map((a) => a.action)).toEqual(expect.arrayContaining(['totp_enabled', 'login_failed']));
    expect(log.find((a) => a.action === 'login_failed' && a.details.reason === 'totp code reused')).toBeTruthy();
    expect(JSON.stringify(log)).not.toContain(secret);
  });

  it('disables with a current code; wrong codes count as failed sign-ins', async () => {
    const { userId, totpSecret } = await seedAccount(env.ctx.db, { email: 'off@example.org', password: PASSWORD, role: 'viewer', totp: true, dataKey: env.config.dataKey });
    const s = (await login('off@example.org', PASSWORD, totpCode(totpSecret!))).session;
    expect((await call('POST', '/api/auth/totp/disable', { code: '12345' }, { session: s })).status).toBe(400);
    expect((await call('POST', '/api/auth/totp/disable', { code: totpCode(totpSecret!) }, { session: s })).body.error.code).toBe('totp_invalid'); // used at sign-in
    const off = await call('POST', '/api/auth/totp/disable', { code: totpCode(totpSecret!, NEXT_STEP()) }, { session: s });
    expect(off.status).toBe(200);
    expect((await login('off@example.org')).status).toBe(200); // no code needed any more
    expect((await actions(userId)).map((a) => a.action)).toContain('totp_disabled');

    // wrong codes at sign-in are failed sign-ins: the account locks like after wrong passwords
    const { totpSecret: s2 } = await seedAccount(env.ctx.db, { email: 'guess@example.org', password: PASSWORD, role: 'viewer', totp: true, dataKey: env.config.dataKey });
    const limit = env.ctx.config.auth.maxFailuresPerAccount;
    const guess = String((Number(totpCode(s2!)) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < limit; i++) expect((await login('guess@example.org', PASSWORD, guess)).body.error.code).toBe('totp_invalid');
    const locked = await login('guess@example.org', PASSWORD, totpCode(s2!));
    expect(locked.status).toBe(429);
    // asking for the code (right password, no code) is not a failure
    for (let i = 0; i < limit + 2; i++) expect((await login('off@example.org', PASSWORD, undefined)).status).toBe(200);
  });

  it('forces staff to enrol: a short-lived, single-use enrolment token that can only set up and enable TOTP, then signs in', async () => {
    const { userId } = await seedAccount(env.ctx.db, { email: 'newmod@example.org', password: PASSWORD, role: 'moderator' });
    const first = await login('newmod@example.org');
    expect(first.status).toBe(403);
    expect(first.body.error.code).toBe('totp_enrollment_required');
    expect(first.token).toBe('');
    const enrollmentToken = first.body.enrollmentToken as string;
    expect(enrollmentToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // the token is not a session
    const asBearer = await app.request('http://localhost/api/me', { headers: { authorization: `Bearer ${enrollmentToken}` } });
    expect(asBearer.status).toBe(401);
    expect((await call('POST', '/api/auth/totp/setup', { enrollmentToken: 'x'.repeat(43) })).status).toBe(401);
    expect((await call('POST', '/api/auth/totp/setup', {})).status).toBe(401);
    const setup = await call('POST', '/api/auth/totp/setup', { enrollmentToken });
    expect(setup.status).toBe(200);
    const secret = setup.body.secret as string;
    expect((await call('POST', '/api/auth/totp/enable', { enrollmentToken, code: '000000' === totpCode(secret) ? '111111' : '000000' })).status).toBe(401);
    const enabled = await call('POST', '/api/auth/totp/enable', { enrollmentToken, code: totpCode(secret) });
    expect(enabled.status).toBe(200);
    expect(enabled.body.user).toMatchObject({ role: 'moderator', totpEnabled: true });
    expect(enabled.token).not.toBe('');
    expect((await call('GET', '/api/me', undefined, { session: enabled.session })).status).toBe(200);
    // used up
    expect((await call('POST', '/api/auth/totp/setup', { enrollmentToken })).status).toBe(401);
    expect((await call('POST', '/api/auth/totp/enable', { enrollmentToken, code: totpCode(secret, NEXT_STEP()) })).status).toBe(401);
    // from now on: password and code
    expect((await login('newmod@example.org')).body.error.code).toBe('totp_required');
    expect((await login('newmod@example.org', PASSWORD, totpCode(secret, NEXT_STEP()))).status).toBe(200);
    // staff cannot turn it off
    const off = await call('POST', '/api/auth/totp/disable', { code: totpCode(secret, NEXT_STEP() + 30_000) }, { session: enabled.session });
    expect(off.status).toBe(403);
    expect(off.body.error.message).toMatch(/staff accounts must keep two-factor sign-in/);
    expect((await actions(userId)).map((a) => a.action)).toEqual(['totp_enrollment_required', 'login_failed', 'totp_enabled', 'login', 'login']);
  });

  it('an enrolment token expires, and without a data key two-factor sign-in answers 503 with a clear message', async () => {
    await seedAccount(env.ctx.db, { email: 'latemod@example.org', password: PASSWORD, role: 'admin' });
    const { enrollmentToken } = (await login('latemod@example.org')).body;
    const keys = await env.ctx.redis.keys(`${env.config.redisPrefix}:totp-enrol:*`);
    expect(keys.length).toBeGreaterThan(0);
    const ttl = await env.ctx.redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000);
    for (const k of keys) await env.ctx.redis.del(k);
    expect((await call('POST', '/api/auth/totp/setup', { enrollmentToken })).body.error.message).toMatch(/sign in again/);

    const key = env.ctx.config.dataKey;
    env.ctx.config.dataKey = null;
    try {
      const staff = await login('latemod@example.org');
      expect(staff.status).toBe(503);
      expect(staff.body.error.message).toMatch(/DATA_KEY/);
      const viewer = await signup({ email: 'nokey@example.org', handle: 'nokey' });
      const setup = await call('POST', '/api/auth/totp/setup', {}, { session: viewer.session });
      expect(setup.status).toBe(503);
      expect((await login('nokey@example.org')).status).toBe(200); // accounts without TOTP sign in as before
    } finally {
      env.ctx.config.dataKey = key;
    }
  });

  it('warden users totp-reset lets an admin recover a staff member who lost their device (audited, sessions ended)', async () => {
    const { userId, totpSecret } = await seedAccount(env.ctx.db, { email: 'lost@example.org', password: PASSWORD, role: 'senior_moderator', totp: true, dataKey: env.config.dataKey });
    const s = await login('lost@example.org', PASSWORD, totpCode(totpSecret!));
    expect(s.status).toBe(200);
    const r = await warden(['users', 'totp-reset', '--email', 'lost@example.org']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ id: userId, email: 'lost@example.org', totpReset: true, sessionsRevoked: 1 });
    expect((await call('GET', '/api/me', undefined, { session: s.session })).status).toBe(401);
    expect((await login('lost@example.org')).body.error.code).toBe('totp_enrollment_required');
    const log = await actions(userId);
    expect(log.at(-2)).toMatchObject({ action: 'totp_reset', details: { hadSecret: true, sessionsRevoked: 1 } });
    expect((await warden(['users', 'totp-reset', '--email', 'nobody@example.org'])).code).toBe(1);
  });
});

describe('sessions', () => {
  it('lists the signed-in user\'s devices and revokes one (and only their own)', async () => {
    await signup({ email: 'devices@example.org', handle: 'devices' });
    const laptop = await call('POST', '/api/auth/login', { email: 'devices@example.org', password: PASSWORD }, { ip: '198.51.100.1' });
    const phone = await call('POST', '/api/auth/login', { email: 'devices@example.org', password: PASSWORD }, { ip: '198.51.100.2' });
    const list = await call('GET', '/api/auth/sessions', undefined, { session: laptop.session });
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(3); // sign-up, laptop, phone
    const current = (list.body as unknown as Json[]).filter((x) => x.current);
    expect(current).toHaveLength(1);
    expect(current[0]).toMatchObject({ ip: '198.51.100.1' });
    const phoneRow = (list.body as unknown as Json[]).find((x) => x.ip === '198.51.100.2')!;
    expect(Object.keys(phoneRow).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
    const stranger = await signup({ email: 'stranger@example.org', handle: 'stranger' });
    expect((await call('POST', `/api/auth/sessions/${phoneRow.id}/revoke`, undefined, { session: stranger.session })).status).toBe(404);
    expect((await call('GET', '/api/me', undefined, { session: phone.session })).status).toBe(200);
    expect((await call('POST', `/api/auth/sessions/${phoneRow.id}/revoke`, undefined, { session: laptop.session })).status).toBe(204);
    expect((await call('GET', '/api/me', undefined, { session: phone.session })).status).toBe(401);
    expect((await call('POST', `/api/auth/sessions/${phoneRow.id}/revoke`, undefined, { session: laptop.session })).status).toBe(404);
    expect((await call('GET', '/api/auth/sessions', undefined, { session: laptop.session })).body).toHaveLength(2);
    expect((await actions(laptop.body.user.id)).map((a) => a.action)).toContain('session_revoked');
  });

  it('drops a revoked performer session from the Redis copy the panic button reads', async () => {
    await signup({ email: 'perf.cache@example.org', handle: 'perf_cache', role: 'performer' });
    const a = await login('perf.cache@example.org');
    const b = await login('perf.cache@example.org');
    await call('GET', '/api/me', undefined, { session: b.session }); // a performer's session is copied to Redis
    const key = `${env.config.redisPrefix}:session:${createHash('sha256').update(b.token).digest('hex')}`;
    await waitFor(async () => (await env.ctx.redis.exists(key)) === 1, 'the session copy');
    const bId = ((await call('GET', '/api/auth/sessions', undefined, { session: b.session })).body as unknown as Json[]).find((x) => x.current)!.id;
    expect((await call('POST', `/api/auth/sessions/${bId}/revoke`, undefined, { session: a.session })).status).toBe(204);
    expect(await env.ctx.redis.exists(key)).toBe(0);
  });
});

/** The outbox rows sent to an address. */
const outbox = (to: string) => env.ctx.db.execute<{ id: string; subject: string; body: string; kind: string; sent_at: Date | null }>(sql`select id, subject, body, kind, sent_at from mail_outbox where to_address = ${to} order by created_at`);
const tokenOf = (body: string) => decodeURIComponent(body.match(/\/studio\/reset\?token=([^\s]+)/)![1]!);

describe('password reset', () => {
  it('answers a known and an unknown address alike (status, body, time) and mails only the known one', async () => {
    await signup({ email: 'forgetful@example.org', handle: 'forgetful' });
    const known = await call('POST', '/api/auth/password-reset', { email: 'Forgetful@example.org' });
    const unknown = await call('POST', '/api/auth/password-reset', { email: 'nobody-here@example.org' });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.body).toEqual(unknown.body);
    const mails = await outbox('forgetful@example.org');
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ kind: 'password_reset', subject: 'Reset your Warden password', sent_at: null });
    expect(mails[0]!.body).toContain(`${env.config.web.publicUrl}/studio/reset?token=`);
    expect(mails[0]!.body).toContain('@forgetful');
    expect(await outbox('nobody-here@example.org')).toHaveLength(0);
    const [stored] = await env.ctx.db.execute<{ token_hash: string; minutes: number }>(sql`select token_hash, extract(epoch from expires_at - created_at) / 60 as minutes from password_resets`);
    expect(stored!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored!.token_hash).not.toBe(tokenOf(mails[0]!.body));
    expect(Math.round(stored!.minutes)).toBe(30);

    // timing: both paths are padded to the same floor, and the work behind it is alike
    const time = async (email: string) => { const t = performance.now(); await call('POST', '/api/auth/password-reset', { email }); return performance.now() - t; };
    const k: number[] = [];
    const u: number[] = [];
    for (let i = 0; i < 3; i++) {
      await signup({ email: `timing${i}@example.org`, handle: `timing_${i}` });
      k.push(await time(`timing${i}@example.org`));
      u.push(await time(`no-account-${i}@example.org`));
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[1]!;
    console.log(`password reset answer time (ms), known: ${k.map((x) => x.toFixed(0)).join(' ')}; unknown: ${u.map((x) => x.toFixed(0)).join(' ')}`);
    for (const t of [...k, ...u]) expect(t).toBeGreaterThanOrEqual(249);
    expect(Math.abs(median(k) - median(u))).toBeLessThan(40);
  });

  it('limits requests per address silently and per client address with 429', async () => {
    await signup({ email: 'popular@example.org', handle: 'popular' });
    for (let i = 0; i < 5; i++) expect((await call('POST', '/api/auth/password-reset', { email: 'popular@example.org' })).status).toBe(202);
    expect(await outbox('popular@example.org')).toHaveLength(3);
    const ip = '192.0.2.200';
    for (let i = 0; i < 20; i++) expect((await call('POST', '/api/auth/password-reset', { email: `x${i}@example.org` }, { ip })).status).toBe(202);
    expect((await call('POST', '/api/auth/password-reset', { email: 'x21@example.org' }, { ip })).status).toBe(429);
  });

  it('sets a new password once with the token, ends every session, keeps two-factor sign-in, and refuses used and expired tokens', async () => {
    const { userId, totpSecret } = await seedAccount(env.ctx.db, { email: 'reset.me@example.org', password: PASSWORD, role: 'viewer', handle: 'reset_me', totp: true, dataKey: env.config.dataKey });
    const before = await login('reset.me@example.org', PASSWORD, totpCode(totpSecret!));
    expect(before.status).toBe(200);
    await call('POST', '/api/auth/password-reset', { email: 'reset.me@example.org' });
    await call('POST', '/api/auth/password-reset', { email: 'reset.me@example.org' });
    const [older, newer] = await outbox('reset.me@example.org');
    const token = tokenOf(newer!.body);
    const NEW = 'a brand new passphrase';
    expect((await call('POST', '/api/auth/password-reset/confirm', { token, password: 'too short' })).body.error.message).toMatch(/at least 10/);
    expect((await call('POST', '/api/auth/password-reset/confirm', { token, password: 'reset_me' })).status).toBe(400);
    expect((await call('POST', '/api/auth/password-reset/confirm', { token: 'A'.repeat(43), password: NEW })).body.error.message).toMatch(/not valid any more/);
    const done = await call('POST', '/api/auth/password-reset/confirm', { token, password: NEW });
    expect(done.status).toBe(204);
    expect((await call('GET', '/api/me', undefined, { session: before.session })).status).toBe(401);
    expect((await login('reset.me@example.org', PASSWORD, totpCode(totpSecret!, NEXT_STEP()))).status).toBe(401);
    expect((await login('reset.me@example.org', NEW)).body.error.code).toBe('totp_required');
    expect((await login('reset.me@example.org', NEW, totpCode(totpSecret!, NEXT_STEP()))).status).toBe(200);
    // one use, and the older link died with it
    expect((await call('POST', '/api/auth/password-reset/confirm', { token, password: 'yet another passphrase' })).status).toBe(400);
    expect((await call('POST', '/api/auth/password-reset/confirm', { token: tokenOf(older!.body), password: 'yet another passphrase' })).status).toBe(400);
    const log = await actions(userId);
    expect(log.find((a) => a.action === 'password_reset')!.details).toMatchObject({ sessionsRevoked: 1 });
    expect(JSON.stringify(log)).not.toContain(token);

    // expiry: a link older than 30 minutes does nothing
    await call('POST', '/api/auth/password-reset', { email: 'forgetful@example.org' });
    const mails = await outbox('forgetful@example.org');
    const late = tokenOf(mails.at(-1)!.body);
    await env.ctx.db.execute(sql`update password_resets set expires_at = now() - interval '1 second' where token_hash = encode(sha256(${late}::bytea), 'hex')`);
    expect((await call('POST', '/api/auth/password-reset/confirm', { token: late, password: NEW })).body.error.message).toMatch(/not valid any more/);
  });
});

/**
 * A small SMTP server on a real socket (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA with dot-stuffing, RSET, QUIT),
 * enough for nodemailer. `failNext` answers that many transactions' RCPT with a transient 451.
 */
function smtpListener() {
  const received: { from: string; to: string[]; data: string }[] = [];
  const state = { failNext: 0, connections: 0 };
  const server = net.createServer((sock) => {
    state.connections++;
    let buf = '';
    let inData = false;
    let cur = { from: '', to: [] as string[], data: '' };
    const reply = (line: string) => sock.write(`${line}\r\n`);
    reply('220 test.smtp ESMTP ready');
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          cur.data = buf.slice(0, end).replace(/^\.\./gm, '.');
          buf = buf.slice(end + 5);
          inData = false;
          received.push(cur);
          cur = { from: '', to: [], data: '' };
          reply('250 2.0.0 queued');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') { reply('250-test.smtp'); reply('250-8BITMIME'); reply('250 SMTPUTF8'); }
        else if (verb === 'HELO') reply('250 test.smtp');
        else if (verb === 'MAIL') { cur.from = line.match(/<([^>]*)>/)?.[1] ?? ''; reply('250 2.1.0 ok'); }
        else if (verb === 'RCPT') {
          if (state.failNext > 0) { state.failNext--; reply('451 4.3.0 try again later'); }
          else { cur.to.push(line.match(/<([^>]*)>/)?.[1] ?? ''); reply('250 2.1.5 ok'); }
        }
        else if (verb === 'DATA') { inData = true; reply('354 end with <CRLF>.<CRLF>'); }
        else if (verb === 'RSET') { cur = { from: '', to: [], data: '' }; reply('250 2.0.0 ok'); }
        else if (verb === 'NOOP') reply('250 2.0.0 ok');
        else if (verb === 'QUIT') { reply('221 2.0.0 bye'); sock.end(); return; }
        else reply('502 5.5.2 not implemented');
      }
    });
    sock.on('error', () => {});
  });
  return {
    received, state,
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Undoes quoted-printable soft line breaks and escapes (nodemailer's encoding of long text lines). */
const unQp = (s: string) => s.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

describe('mailer', () => {
  it('delivers the outbox to a real SMTP listener, retrying a transient failure with backoff and recording it', async () => {
    const smtp = smtpListener();
    const port = await smtp.listen();
    await signup({ email: 'mailme@example.org', handle: 'mailme' });
    await call('POST', '/api/auth/password-reset', { email: 'mailme@example.org' });
    const [row] = await outbox('mailme@example.org');
    smtp.state.failNext = 1;
    // rows other tests left unsent go out too; only this one is checked
    const mailer = new Mailer({ db: env.ctx.db, smtpUrl: `smtp://127.0.0.1:${port}`, from: 'Warden <no-reply@warden.test>', logger: env.ctx.logger, pollMs: 50, minBackoffMs: 300, timeoutMs: 5000 });
    const started = Date.now();
    mailer.start();
    try {
      await waitFor(async () => (await env.ctx.db.execute(sql`select 1 from mail_outbox where sent_at is null`)).length === 0, 'the outbox sent', 20_000);
    } finally {
      await mailer.stop();
      await smtp.close();
    }
    const [after] = await env.ctx.db.execute<{ attempts: number; last_error: string | null }>(sql`select attempts, last_error from mail_outbox where id = ${row!.id}`);
    const mine = smtp.received.filter((m) => m.to.includes('mailme@example.org'));
    expect(mine).toHaveLength(1);
    const text = unQp(mine[0]!.data);
    expect(mine[0]!.from).toBe('no-reply@warden.test');
    expect(text).toMatch(/^Subject: Reset your Warden password$/m);
    expect(text).toContain(`${env.config.web.publicUrl}/studio/reset?token=${encodeURIComponent(tokenOf(row!.body))}`);
    expect(text).toMatch(/^X-Warden-Mail: password_reset$/im);
    // whichever row met the transient failure carries it: counted, and retried after the backoff
    const failed = await env.ctx.db.execute<{ attempts: number; sent: boolean }>(sql`select attempts, sent_at is not null as sent from mail_outbox where attempts > 1`);
    expect(failed.length).toBe(1);
    expect(failed[0]).toMatchObject({ attempts: 2, sent: true });
    expect(after!.last_error).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await env.ctx.db.execute(sql`select 1 from mail_outbox where sent_at is null`)).toHaveLength(0);
  });

  it('keeps a failed row\'s backoff in the row: a restarted (or another) mailer waits it out too', async () => {
    const smtp = smtpListener();
    const port = await smtp.listen();
    await signup({ email: 'backoff@example.org', handle: 'backoff' });
    await call('POST', '/api/auth/password-reset', { email: 'backoff@example.org' });
    const [row] = await outbox('backoff@example.org');
    smtp.state.failNext = 1000; // every attempt fails for now
    const opts = { db: env.ctx.db, smtpUrl: `smtp://127.0.0.1:${port}`, from: 'Warden <no-reply@warden.test>', logger: env.ctx.logger, pollMs: 50, minBackoffMs: 60_000, timeoutMs: 5000 };
    const first = new Mailer(opts);
    try {
      first.start();
      await waitFor(async () => (await env.ctx.db.execute(sql`select 1 from mail_outbox where sent_at is null and attempts = 0`)).length === 0, 'every unsent row tried once', 10_000);
      await first.stop();
      const [failed] = await env.ctx.db.execute<{ attempts: number; wait_s: number }>(sql`select attempts, extract(epoch from next_attempt_at - now())::float as wait_s from mail_outbox where id = ${row!.id}`);
      expect(failed!.attempts).toBe(1);
      expect(failed!.wait_s).toBeGreaterThan(50);
      expect(failed!.wait_s).toBeLessThanOrEqual(60);
      // a new mailer (a restart, or another API node) with SMTP working again: the row waits out its backoff
      smtp.state.failNext = 0;
      const second = new Mailer(opts);
      try {
        second.start();
        await new Promise((r) => setTimeout(r, 1000));
        expect(smtp.received.filter((m) => m.to.includes('backoff@example.org'))).toHaveLength(0);
        await env.ctx.db.execute(sql`update mail_outbox set next_attempt_at = now() where id = ${row!.id}`); // the backoff ends
        await waitFor(async () => (await env.ctx.db.execute(sql`select 1 from mail_outbox where id = ${row!.id} and sent_at is not null`)).length === 1, 'sent after the backoff', 10_000);
      } finally {
        await second.stop();
      }
      expect(smtp.received.filter((m) => m.to.includes('backoff@example.org'))).toHaveLength(1);
    } finally {
      await first.stop();
      await smtp.close();
    }
  });

  it('without SMTP_URL leaves the outbox alone', async () => {
    await call('POST', '/api/auth/password-reset', { email: 'mailme@example.org' });
    const mailer = new Mailer({ db: env.ctx.db, smtpUrl: null, from: 'x@y.z', logger: env.ctx.logger });
    mailer.start();
    expect(await mailer.sendNext()).toBe('idle');
    await mailer.stop();
    expect(await env.ctx.db.execute(sql`select 1 from mail_outbox where sent_at is null`)).toHaveLength(1);
  });
});

describe('the demo\'s staff accounts', () => {
  it('sign in with their known TOTP secrets, twice within one 30 s step (the second with the next step\'s code)', async () => {
    await seedDemoAccounts(env.ctx.db, 'demo password 123', env.config.dataKey);
    await seedDemoAccounts(env.ctx.db, 'demo password 456', env.config.dataKey); // a second run re-seals and resets
    const server = await new Promise<ServerType>((resolve) => { const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s)); });
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      for (let i = 0; i < 2; i++) {
        const mod = await signIn(url, DEMO_ACCOUNTS[0]!.email, 'demo password 456');
        expect((await mod.call('GET', '/api/me')).body?.user).toMatchObject({ role: 'moderator', totpEnabled: true });
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(demoOtpauthUrl(DEMO_ACCOUNTS[0]!)).toContain(`secret=${DEMO_ACCOUNTS[0]!.totpSecret}`);
  });
});

function warden(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'bin/warden'), args, {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, LOG_LEVEL: 'silent', DATABASE_URL: env.config.databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => { stdout += b; });
    child.stderr!.on('data', (b) => { stderr += b; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
