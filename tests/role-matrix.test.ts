// The role matrix: every declared API route, called by every role (and by nobody), must answer 401 without a
// session, 403 for a role it does not admit, and neither for a role it does. The routes come from the API's own
// declarations, so a new route is in the matrix the day it is added. Plus the ownership rules the matrix cannot
// see: a performer reading another performer's records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/index.ts';
import type { Access } from '../api/index.ts';
import { createTestEnv, type TestEnv } from './harness.ts';
import { seedSession } from '../bin/seed.ts';
import { client, seedBroadcast, seedCase, seedStaff } from './review-fixtures.ts';

let env: TestEnv;
let app: ReturnType<typeof createApi>;
let staff: Awaited<ReturnType<typeof seedStaff>>;

beforeAll(async () => {
  env = await createTestEnv();
  app = createApi({ ctx: env.ctx });
  staff = await seedStaff(env.ctx.db, 'm');
});
afterAll(async () => env?.cleanup());

const ROLES = ['viewer', 'performer', 'moderator', 'senior_moderator', 'admin'] as const;
const SOME_ID = '00000000-0000-4000-8000-000000000000';

/** Routes outside the declared API (older routes with their own checks) and who may call them. */
const LEGACY: { method: string; path: string; access: Access }[] = [
  { method: 'get', path: '/rooms/me', access: ['performer'] },
  { method: 'get', path: '/samples/:id/audio', access: ['moderator', 'senior_moderator', 'admin'] },
  { method: 'get', path: '/broadcasts/:id/captions.vtt', access: 'signed-in' },
];

/**
 * Public routes that authenticate by themselves: a staff member's enrolment token from login, or else the
 * session. Anonymous (neither) is 401; every role with a session is let through.
 */
const SESSION_OR_ENROLMENT_TOKEN = new Set(['/auth/totp/setup', '/auth/totp/enable']);

/** @returns the status; a 403 for a reason other than the role (e.g. "needs a verification") counts as allowed (`403*`). */
async function call(method: string, path: string, token: string | undefined, selfId?: string): Promise<number | '403*'> {
  // a user's own records are theirs to read: `/users/:id` is called with the caller's id
  const id = path.startsWith('/users/:id') && method === 'get' && selfId ? selfId : SOME_ID;
  const res = await app.request(`http://localhost/api${path.replace(/:[a-zA-Z]+/g, id)}`, {
    method: method.toUpperCase(),
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'get' ? {} : { 'content-type': 'application/json' }) },
    body: method === 'get' ? undefined : '{}',
  });
  if (res.status === 403) {
    const body = await res.json().catch(() => ({})) as { error?: { message?: string } };
    return /needs the role/.test(body.error?.message ?? '') ? 403 : '403*';
  }
  await res.body?.cancel(); // an event stream never ends on its own
  return res.status;
}

describe('role matrix', () => {
  it('every route answers 401 / 403 / allowed by role', async () => {
    const who = { viewer: staff.viewer, performer: staff.performer, moderator: staff.moderator, senior_moderator: staff.senior, admin: staff.admin };
    const routes = [...app.specs.map((s) => ({ method: s.method, path: s.path, access: s.access })), ...LEGACY];
    expect(routes.length).toBeGreaterThan(25);
    const wrong: string[] = [];
    for (const r of routes) {
      if (r.path === '/auth/login' || r.path === '/auth/logout') continue; // logout would end the session the matrix uses; both tested in auth.test
      const anon = await call(r.method, r.path, undefined);
      if (SESSION_OR_ENROLMENT_TOKEN.has(r.path)) {
        r.access = 'signed-in';
        if (anon !== 401 && anon !== 400) wrong.push(`${r.method} ${r.path} anonymous → ${anon}`); // 400: the empty body fails validation first
      } else if (r.access === 'public' ? anon === 401 || anon === 403 : anon !== 401) wrong.push(`${r.method} ${r.path} anonymous → ${anon}`);
      for (const role of ROLES) {
        const allowed = r.access === 'public' || r.access === 'signed-in' || (r.access as readonly string[]).includes(role);
        const status = await call(r.method, r.path, who[role].token, who[role].userId);
        if (allowed ? status === 401 || status === 403 : status !== 403) wrong.push(`${r.method} ${r.path} as ${role} → ${status} (allowed: ${allowed})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a performer sees only their own records', async () => {
    const mine = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-own');
    const theirs = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-other');
    const caseId = await seedCase(env.ctx.db, theirs);
    const decided = await client(app, staff.moderator.token).post(`/api/cases/${caseId}/decision`, { action: 'warn', reasonCode: 'sexual_content' });
    expect(decided.status).toBe(200);
    const { token } = await seedSession(env.ctx.db, 'perf-own', 'performer'); // the same user, by handle
    const me = client(app, token);
    expect((await me.get(`/api/users/${mine.userId}`)).status).toBe(200);
    expect((await me.get(`/api/users/${theirs.userId}`)).status).toBe(403);
    expect((await me.get(`/api/statements?userId=${theirs.userId}`)).status).toBe(403);
    expect((await me.get(`/api/statements/${decided.body.statementId}`)).status).toBe(404);
    expect((await me.post('/api/appeals', { statementId: decided.body.statementId, body: 'not mine but let me try' })).status).toBe(404);
    expect((await me.get(`/api/cases/${caseId}`)).status).toBe(403);
    // the owner does see theirs, without the moderators' internal trail
    const owner = (await client(app, staff.moderator.token).get(`/api/users/${theirs.userId}`)).body;
    expect(owner.statements).toHaveLength(1);
    const selfView = (await me.get(`/api/users/${mine.userId}`)).body;
    expect(selfView.actions).toEqual([]);
  });

  it('serves an OpenAPI 3.1 document with every declared route and its roles', async () => {
    const doc = (await client(app).get('/api/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const s of app.specs) {
      const op = doc.paths[`/api${s.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`]?.[s.method];
      expect(op, `${s.method} ${s.path}`).toBeTruthy();
    }
    const decision = doc.paths['/api/cases/{id}/decision'].post;
    expect(decision.requestBody.content['application/json'].schema.properties.action.enum).toContain('ban');
    expect(decision['x-roles']).toEqual(['moderator', 'senior_moderator', 'admin']);
    expect(decision.responses['409']).toBeTruthy();
  });
});
