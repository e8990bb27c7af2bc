// Operations endpoints of the API, called in-process with app.request (no server, no mocks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/index.ts';
import { connectRedis } from '../core/redis.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

let env: TestEnv;
beforeAll(async () => { env = await createTestEnv(); });
afterAll(async () => env?.cleanup());

describe('api', () => {
  it('/healthz answers ok', async () => {
    const res = await createApi({ ctx: env.ctx }).request('http://localhost/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks Postgres and Redis, and answers 503 naming the one that fails', async () => {
    const ok = await createApi({ ctx: env.ctx }).request('http://localhost/readyz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ready', checks: { postgres: { ok: true }, redis: { ok: true } } });
    const dead = await connectRedis(env.config.redisUrl);
    dead.disconnect();
    const res = await createApi({ ctx: { ...env.ctx, redis: dead } }).request('http://localhost/readyz');
    expect(res.status).toBe(503);
    const body = await res.json() as { checks: { redis: { ok: boolean; error: string }; postgres: { ok: boolean } } };
    expect(body.checks.redis.ok).toBe(false);
    expect(body.checks.redis.error).toBeTruthy();
    expect(body.checks.postgres.ok).toBe(true);
  });

  it('/metrics serves Prometheus text with Warden\'s metrics and live queue depth', async () => {
    await env.ctx.queues.add('evaluate-sample', { sampleId: '00000000-0000-0000-0000-000000000000' });
    const res = await createApi({ ctx: env.ctx }).request('http://localhost/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    for (const m of ['warden_samples_total', 'warden_signals_total', 'warden_cases_opened_total', 'warden_analysis_latency_seconds', 'warden_queue_depth']) expect(text).toContain(m);
    expect(text).toMatch(/warden_queue_depth\{queue="rules"\} 1/);
  });

  it('unknown routes get a JSON 404; case data needs a session', async () => {
    const cases = await createApi({ ctx: env.ctx }).request('http://localhost/api/cases');
    expect(cases.status).toBe(401);
    expect(await cases.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    for (const p of ['/api/nothing-here', '/cases', '/api/samples']) {
      const res = await createApi({ ctx: env.ctx }).request(`http://localhost${p}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });
});
