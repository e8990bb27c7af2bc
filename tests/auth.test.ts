// Accounts and sessions on the real Postgres and Redis: argon2id hashes, the session cookie's attributes, login
// throttling per account and per IP, logout revoking server-side, idle and absolute expiry, role changes and
// disabled accounts ending sessions, CSRF on cookie sessions, and the `warden users` CLI.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApi } from '../api/index.ts';
import { seedAccount } from '../bin/seed.ts';
import { totpCode } from '../core/totp.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PASSWORD = 'correct horse battery staple';
let env: TestEnv;
let app: ReturnType<typeof createApi>;
/** TOTP secrets of the accounts that sign in with a second factor (staff must), by e-mail. */
const secrets = new Map<string, string>();

beforeAll(async () => {
  env = await createTestEnv();
  env.ctx.config.auth.maxFailuresPerAccount = 3;
  env.ctx.config.auth.maxFailuresPerIp = 5;
  env.ctx.config.auth.sessionIdleMs = 60_000;
  env.ctx.config.auth.trustProxy = true; // client IPs from X-Forwarded-For, so tests can come from several
  app = createApi({ ctx: env.ctx });
  for (const [email, role] of [['mod@example.org', 'moderator'], ['other@example.org', 'moderator'], ['third@example.org', 'viewer'], ['gone@example.org', 'moderator'], ['burst@example.org', 'viewer']] as const) {
    const { totpSecret } = await seedAccount(env.ctx.db, { email, password: PASSWORD, role, totp: role === 'moderator', dataKey: env.config.dataKey });
    if (totpSecret) secrets.set(email, totpSecret);
  }
});
afterAll(async () => env?.cleanup());

/**
 * Signs in; accounts with a TOTP secret send the current code. A code is accepted once per 30-second step, and
 * these tests sign the same account in many times within one step, so the account's last used step is cleared
 * first (what waiting for the next step would do; the replay refusal itself is tested in accounts.test.ts).
 */
async function login(email: string, password = PASSWORD, opts: { url?: string; ip?: string } = {}) {
  const secret = secrets.get(email.trim().toLowerCase());
  if (secret) await env.ctx.database.sql`update users set totp_last_step = null where email = ${email.trim().toLowerCase()}`;
  const res = await app.request(`${opts.url ?? 'http://localhost'}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(opts.ip ? { 'x-forwarded-for': opts.ip } : {}) },
    body: JSON.stringify({ email, password, ...(secret ? { totpCode: totpCode(secret) } : {}) }),
  });
  const cookie = res.headers.get('set-cookie') ?? '';
  const token = cookie.match(/warden_session=([^;]+)/)?.[1] ?? '';
  return { res, body: await res.json() as { user?: { role: string }; csrfToken?: string; error?: { code: string; message: string } }, cookie, token };
}

const withCookie = (method: string, url: string, token: string, headers: Record<string, string> = {}, body?: unknown) =>
  app.request(`http://localhost${url}`, {
    method, headers: { cookie: `warden_session=${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('sign-in', () => {
  it('stores argon2id hashes and sets an HttpOnly, SameSite=Strict cookie (Secure only over TLS)', async () => {
    const [row] = await env.ctx.database.sql`select password_hash from users where email = 'mod@example.org'`;
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const plain = await login('MOD@example.org ');
    expect(plain.res.status).toBe(200);
    expect(plain.body.user).toMatchObject({ role: 'moderator' });
    expect(plain.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(plain.cookie).toMatch(/HttpOnly/);
    expect(plain.cookie).toMatch(/SameSite=Strict/);
    expect(plain.cookie).toMatch(/Path=\//);
    expect(plain.cookie).not.toMatch(/Secure/);
    const tls = await login('mod@example.org', PASSWORD, { url: 'https://localhost' });
    expect(tls.cookie).toMatch(/Secure/);
    const me = await withCookie('GET', '/api/me', plain.token);
    expect(await me.json()).toMatchObject({ user: { email: 'mod@example.org', role: 'moderator' }, csrfToken: plain.body.csrfToken });
  });

  it('answers a wrong password and an unknown e-mail alike', async () => {
    const wrong = await login('third@example.org', 'not the password at all');
    const unknown = await login('nobody@example.org', 'not the password at all');
    expect(wrong.res.status).toBe(401);
    expect(unknown.res.status).toBe(401);
    expect(wrong.body.error!.message).toBe(unknown.body.error!.message);
    expect(wrong.cookie).toBe('');
    const [{ n }] = await env.ctx.database.sql`select count(*)::int as n from actions where action = 'login_failed'` as unknown as [{ n: number }];
    expect(n).toBeGreaterThanOrEqual(2);
  });

  it('locks an account after repeated failures (429 with Retry-After) while others still sign in, and limits an IP failing across accounts', async () => {
    for (let i = 0; i < 3; i++) expect((await login('other@example.org', 'wrong guess number x', { ip: '10.0.0.1' })).res.status).toBe(401);
    const locked = await login('other@example.org', PASSWORD, { ip: '10.0.0.9' });
    expect(locked.res.status).toBe(429);
    expect(Number(locked.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.body.error!.code).toBe('rate_limited');
    // another account from the locked account's IP still signs in
    expect((await login('third@example.org', PASSWORD, { ip: '10.0.0.1' })).res.status).toBe(200);
    // one address failing on many accounts reaches the per-IP limit (5); other addresses are unaffected
    for (let i = 0; i < 5; i++) expect((await login(`guess${i}@example.org`, 'wrong guess number y', { ip: '10.0.0.2' })).res.status).toBe(401);
    expect((await login('third@example.org', PASSWORD, { ip: '10.0.0.2' })).res.status).toBe(429);
    expect((await login('third@example.org', PASSWORD, { ip: '10.0.0.3' })).res.status).toBe(200);
  });

  it('counts parallel guesses atomically, ignores spoofed X-Forwarded-For hops, and does not count successes against an IP', async () => {
    // 8 guesses at once at an account allowed 3 failures: exactly 3 are checked, the rest refused unchecked
    const burst = await Promise.all(Array.from({ length: 8 }, () => login('burst@example.org', 'a wrong guess, in parallel', { ip: '10.0.5.1' })));
    expect(burst.map((r) => r.res.status).sort()).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
    // the proxy appends the address it saw; what the client put to its left is not the client's address
    for (let i = 0; i < 5; i++) expect((await login(`spoof${i}@example.org`, 'wrong guess number z', { ip: `203.0.113.${i}, 10.0.6.1` })).res.status).toBe(401);
    expect((await login('third@example.org', PASSWORD, { ip: '198.51.100.7, 10.0.6.1' })).res.status).toBe(429);
    // many people signing in behind one address (an office NAT) is not an attack
    for (let i = 0; i < 6; i++) expect((await login('third@example.org', PASSWORD, { ip: '10.0.7.1' })).res.status).toBe(200);
  });

  it('logout revokes the session server-side', async () => {
    const s = await login('mod@example.org');
    const out = await withCookie('POST', '/api/auth/logout', s.token, { 'x-csrf-token': s.body.csrfToken! });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/warden_session=;/);
    expect((await withCookie('GET', '/api/me', s.token)).status).toBe(401);
  });

  it('ends idle sessions and sessions past their absolute expiry', async () => {
    const idle = await login('mod@example.org');
    await env.ctx.database.sql`update sessions set last_seen_at = now() - interval '2 minutes' where token_hash = encode(sha256(${idle.token}::bytea), 'hex')`;
    expect((await withCookie('GET', '/api/me', idle.token)).status).toBe(401);
    // an active session is renewed well within the idle time (a quarter of it, at most a minute)
    const active = await login('mod@example.org');
    const stamp = () => env.ctx.database.sql`select extract(epoch from now() - last_seen_at)::float8 as age from sessions where token_hash = encode(sha256(${active.token}::bytea), 'hex')`;
    await env.ctx.database.sql`update sessions set last_seen_at = now() - interval '20 seconds' where token_hash = encode(sha256(${active.token}::bytea), 'hex')`;
    expect((await withCookie('GET', '/api/me', active.token)).status).toBe(200);
    expect((await stamp())[0]!.age).toBeLessThan(5);
    const old = await login('mod@example.org');
    expect((await withCookie('GET', '/api/me', old.token)).status).toBe(200);
    await env.ctx.database.sql`update sessions set expires_at = now() - interval '1 second' where token_hash = encode(sha256(${old.token}::bytea), 'hex')`;
    expect((await withCookie('GET', '/api/me', old.token)).status).toBe(401);
  });

  it('refuses cookie state changes without the right CSRF token; Bearer needs none', async () => {
    const s = await login('mod@example.org');
    const none = await withCookie('POST', '/api/cases/next', s.token, {}, {});
    expect(none.status).toBe(403);
    expect(await none.json()).toMatchObject({ error: { code: 'csrf' } });
    expect((await withCookie('POST', '/api/cases/next', s.token, { 'x-csrf-token': 'A'.repeat(43) }, {})).status).toBe(403);
    expect((await withCookie('POST', '/api/cases/next', s.token, { 'x-csrf-token': s.body.csrfToken! }, {})).status).toBe(404); // empty queue
    const bearerMe = await app.request('http://localhost/api/me', { headers: { authorization: `Bearer ${s.token}` } });
    expect(await bearerMe.json()).toMatchObject({ user: { email: 'mod@example.org' }, csrfToken: null });
    const bearer = await app.request('http://localhost/api/cases/next', { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(bearer.status).toBe(404);
    // a cross-site request is refused before anything else
    expect((await withCookie('POST', '/api/cases/next', s.token, { 'x-csrf-token': s.body.csrfToken!, origin: 'https://evil.example' }, {})).status).toBe(403);
  });
});

function warden(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'bin/warden'), args, {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, LOG_LEVEL: 'silent', DATABASE_URL: env.config.databaseUrl },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => { stdout += b; });
    child.stderr!.on('data', (b) => { stderr += b; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('warden users', () => {
  it('creates, signs in, changes role (ending sessions), grants a queue, disables', async () => {
    const created = await warden(['users', 'create', '--email', 'Senior@Example.org', '--password', '-', '--role', 'senior_moderator'], `${PASSWORD}\n`);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ email: 'senior@example.org', role: 'senior_moderator', handle: 'senior' });
    // staff sign in with a second factor: the first sign-in sets it up with the enrolment token it is given
    const first = await login('senior@example.org');
    expect(first.res.status).toBe(403);
    expect(first.body.error!.code).toBe('totp_enrollment_required');
    const enrollmentToken = (first.body as { enrollmentToken?: string }).enrollmentToken;
    const post = (url: string, body: unknown) => app.request(`http://localhost${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const { secret } = await (await post('/api/auth/totp/setup', { enrollmentToken })).json() as { secret: string };
    const enabled = await post('/api/auth/totp/enable', { enrollmentToken, code: totpCode(secret) });
    expect(enabled.status).toBe(200);
    secrets.set('senior@example.org', secret);
    const s = await login('senior@example.org');
    expect(s.res.status).toBe(200);

    const dup = await warden(['users', 'create', '--email', 'senior@example.org', '--password', PASSWORD, '--role', 'admin']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/an account with e-mail senior@example.org already exists/);
    const taken = await warden(['users', 'create', '--email', 'senior@elsewhere.org', '--password', PASSWORD, '--role', 'viewer']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/the handle "senior" is taken; choose another with --handle/);
    const short = await warden(['users', 'create', '--email', 'x@example.org', '--password', 'short', '--role', 'admin']);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/at least 12 characters/);
    const badRole = await warden(['users', 'create', '--email', 'y@example.org', '--password', PASSWORD, '--role', 'god']);
    expect(badRole.stderr).toMatch(/--role: one of viewer, performer, moderator/);

    const demoted = await warden(['users', 'set-role', '--email', 'senior@example.org', '--role', 'moderator']);
    expect(JSON.parse(demoted.stdout)).toMatchObject({ role: 'moderator', sessionsRevoked: 2 }); // the enrolment's session and the sign-in's
    expect((await withCookie('GET', '/api/me', s.token)).status).toBe(401);

    const granted = await warden(['users', 'grant', '--email', 'senior@example.org', '--permission', 'queue:minor_safety']);
    expect(JSON.parse(granted.stdout).permissions).toEqual(['queue:minor_safety']);
    const again = await login('senior@example.org');
    expect(again.body.user).toMatchObject({ role: 'moderator', permissions: ['queue:minor_safety'] });

    expect((await warden(['users', 'disable', '--email', 'senior@example.org'])).code).toBe(0);
    expect((await withCookie('GET', '/api/me', again.token)).status).toBe(401);
    expect((await login('senior@example.org')).res.status).toBe(401);
    const audit = await env.ctx.db.execute<{ action: string }>(sql`select action from actions where actor_id = 'cli' order by id`);
    expect(audit.map((r) => r.action)).toEqual(['user_created', 'role_changed', 'permission_granted', 'user_disabled']);
  });
});
