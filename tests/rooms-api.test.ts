// A performer's room terms and slow mode over the API: authentication, role checks, validation, CSRF.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/index.ts';
import { csrfTokenFor } from '../api/auth.ts';
import { roomConfig } from '../db/index.ts';
import { seedSession } from '../bin/seed.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

let env: TestEnv;
let app: ReturnType<typeof createApi>;
let performer: { userId: string; token: string };
let other: { userId: string; token: string };
let viewer: { token: string };
const changed: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  app = createApi({ ctx: env.ctx, onRoomChange: (id) => changed.push(id) });
  performer = await seedSession(env.ctx.db, 'room-owner', 'performer');
  other = await seedSession(env.ctx.db, 'other-owner', 'performer');
  viewer = await seedSession(env.ctx.db, 'room-viewer', 'viewer');
});
afterAll(async () => env?.cleanup());

const call = (method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.request(`http://localhost${path}`, {
    method,
    // a browser session: the cookie, and on state changes the session's CSRF token (tests/auth.test.ts checks the refusals)
    headers: { ...(token ? { cookie: `warden_session=${token}`, ...(method === 'GET' ? {} : { 'x-csrf-token': csrfTokenFor(token) }) } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('room moderation API', () => {
  it('needs a session, and the performer role', async () => {
    expect((await call('GET', '/api/rooms/me')).status).toBe(401);
    expect((await call('GET', '/api/rooms/me', 'not-a-token')).status).toBe(401);
    const res = await call('GET', '/api/rooms/me', viewer.token);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('adds, lists and removes terms in the performer\'s own room only', async () => {
    const res = await call('POST', '/api/rooms/me/terms', performer.token, { term: 'Spoiler', action: 'block' });
    expect(res.status).toBe(201);
    const { id } = await res.json() as { id: string };
    expect(changed).toContain(performer.userId);
    const again = await call('POST', '/api/rooms/me/terms', performer.token, { term: 'spoiler', action: 'hold' });
    expect((await again.json() as { id: string }).id).toBe(id); // one term per spelling, action changed
    expect((await roomConfig(env.ctx.db, performer.userId)).terms).toEqual([{ term: 'Spoiler', action: 'hold' }]);
    expect((await call('DELETE', `/api/rooms/me/terms/${id}`, other.token)).status).toBe(404);
    expect((await call('DELETE', `/api/rooms/me/terms/${id}`, performer.token)).status).toBe(204);
    expect((await roomConfig(env.ctx.db, performer.userId)).terms).toEqual([]);
  });

  it('refuses bad bodies with a JSON error naming the problem', async () => {
    const bad = await call('POST', '/api/rooms/me/terms', performer.token, { term: 'x', action: 'allow' });
    expect(bad.status).toBe(400);
    expect((await bad.json() as { error: { message: string } }).error.message).toMatch(/action/);
    expect((await call('POST', '/api/rooms/me/terms', performer.token, '{nope')).status).toBe(400);
    expect((await call('POST', '/api/rooms/me/terms', performer.token, 'term=x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await call('PUT', '/api/rooms/me/slow-mode', performer.token, { seconds: -1 })).status).toBe(400);
    expect((await call('POST', '/api/rooms/me/terms', performer.token, { term: 'x'.repeat(70_000), action: 'block' })).status).toBe(413);
  });

  it('refuses a cross-site request (CSRF) and sets slow mode from our own origin', async () => {
    const evil = await call('PUT', '/api/rooms/me/slow-mode', performer.token, { seconds: 10 }, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    const ok = await call('PUT', '/api/rooms/me/slow-mode', performer.token, { seconds: 10 }, { origin: 'http://localhost' });
    expect(ok.status).toBe(200);
    expect((await roomConfig(env.ctx.db, performer.userId)).slowModeS).toBe(10);
  });
});
