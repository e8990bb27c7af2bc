// Panic alerts on the real Redis and Postgres: two moderators' SSE streams receive a panic press (latency
// measured), the chosen protection applies (chat frozen; stream hidden; broadcast ended), an unacknowledged alert escalates
// (re-notified, and a signed webhook to the on-call service), acknowledging stops it and is audited, presses
// are never rate-limited, and an alert raised while Postgres is unreachable is still delivered and stored later.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertHub, createAlertService, createApi } from '../api/index.ts';
import { connectRedis } from '../core/redis.ts';
import { connectDatabase, getAlert } from '../db/index.ts';
import { AlertService, enforcementChannel, frozenRoomKey, hiddenBroadcastKey, verifyWebhookSignature, type AlertEvent } from '../moderation/index.ts';
import { seedSession } from '../bin/seed.ts';
import { ChatLimits } from '../ingest/chat/limits.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';
import { client, seedBroadcast, seedStaff } from './review-fixtures.ts';

const SECRET = 'on-call-secret-0123456789';
let env: TestEnv;
let alerts: AlertService;
let hub: AlertHub;
let app: ReturnType<typeof createApi>;
let staff: Awaited<ReturnType<typeof seedStaff>>;
let onCall: http.Server;
const pages: { body: string; ok: boolean }[] = [];

beforeAll(async () => {
  onCall = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      pages.push({ body, ok: verifyWebhookSignature(SECRET, String(req.headers['warden-timestamp']), body, String(req.headers['warden-signature'])) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => onCall.listen(0, '127.0.0.1', r));
  env = await createTestEnv();
  env.ctx.config.alerts = { ackMs: 400, maxEscalations: 2, escalationUrl: `http://127.0.0.1:${(onCall.address() as AddressInfo).port}/page` };
  env.ctx.config.webhooks.secret = SECRET;
  alerts = createAlertService(env.ctx);
  alerts.start();
  hub = new AlertHub(env.ctx.redis, alerts.channel, env.ctx.logger);
  app = createApi({ ctx: env.ctx, alerts, alertHub: hub });
  staff = await seedStaff(env.ctx.db, 'al');
});
afterAll(async () => {
  await alerts?.stop();
  await hub?.stop();
  onCall?.close();
  await env?.cleanup();
});

/** A moderator's open alert stream, collecting events. */
async function stream(token: string) {
  const res = await app.request('http://localhost/api/alerts/stream', { headers: { authorization: `Bearer ${token}` } });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = res.body!.getReader();
  const events: (AlertEvent & { receivedAt: number })[] = [];
  let buf = '';
  let ready = false;
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += new TextDecoder().decode(value);
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (block.includes('event: ready')) ready = true;
        const data = block.match(/^data: (.*)$/m)?.[1];
        if (block.includes('event: alert') && data) events.push({ ...JSON.parse(data) as AlertEvent, receivedAt: Date.now() });
      }
    }
  })();
  await waitFor(() => ready, 'the stream to open', 5000, 10);
  return { events, close: () => reader.cancel() };
}

describe('panic alerts', () => {
  it('reach every online moderator at once, freeze the chat, escalate until acknowledged, and are audited', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'panic-performer');
    const performer = { handle: 'panic-performer', ...(await seedSession(env.ctx.db, 'panic-performer', 'performer')) };
    const [a, s] = [await stream(staff.moderator.token), await stream(staff.senior.token)];
    try {
      const pressed = Date.now();
      const res = await client(app, performer.token).post('/api/alerts/panic', { protection: 'freeze_chat', message: 'someone is at my door' });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ stored: true, alert: { status: 'open', broadcastId: b.broadcastId, protection: 'freeze_chat' } });
      const id = res.body.alert.id as string;
      const got = await Promise.all([a, s].map((x) => waitFor(() => x.events.find((e) => e.type === 'raised' && e.alert.id === id), 'the alert on a moderator stream', 3000, 5)));
      const latencies = got.map((e) => e.receivedAt - pressed);
      console.log(`panic press to moderator SSE: ${latencies.join(' ms, ')} ms`);
      for (const l of latencies) expect(l).toBeLessThan(500);
      // the chosen protection: every chat post in the room is refused while the alert stands
      expect(await env.ctx.redis.get(frozenRoomKey(env.config.redisPrefix, b.userId))).toContain('freeze');
      const gate = await new ChatLimits({ redis: env.ctx.redis, prefix: env.config.redisPrefix, logger: env.ctx.logger }).check(staff.viewer.userId, b.userId, 'hello', env.ctx.policy().chat, 0);
      expect(gate).toMatchObject({ ok: false, code: 'restricted', restriction: { kind: 'freeze' } });
      // stored with a critical case and audited
      const row = await getAlert(env.ctx.db, id);
      expect(row).toMatchObject({ status: 'open', message: 'someone is at my door' });
      const [c] = await env.ctx.database.sql`select priority, subject_type from cases where id = ${row!.caseId}`;
      expect(c).toMatchObject({ priority: 'critical', subject_type: 'alert' });

      // nobody acknowledges: it escalates (re-notified, and the on-call service is paged with a signed webhook)
      await waitFor(() => a.events.some((e) => e.type === 'escalated' && e.alert.id === id), 'an escalation', 3000, 20);
      await waitFor(() => pages.length >= 1, 'the on-call page', 3000, 20);
      expect(pages[0]!.ok).toBe(true);
      expect(JSON.parse(pages[0]!.body)).toMatchObject({ type: 'alert.escalated', alert: { id, escalations: 1 } });

      // two moderators acknowledge at the same moment: exactly one does, the other is told who
      const acks = await Promise.all([staff.moderator, staff.senior].map((m) => client(app, m.token).post(`/api/alerts/${id}/ack`)));
      expect(acks.map((r) => r.status).sort()).toEqual([200, 409]);
      const winner = acks.find((r) => r.status === 200)!;
      const loser = acks.find((r) => r.status === 409)!;
      expect(winner.body).toMatchObject({ status: 'acknowledged' });
      expect(loser.body.error.message).toContain(`@${winner.body.acknowledgedBy.handle}`);
      await waitFor(() => s.events.some((e) => e.type === 'acknowledged' && e.alert.id === id), 'the acknowledgement on the other stream', 3000, 10);
      const escalationsSoFar = a.events.filter((e) => e.type === 'escalated' && e.alert.id === id).length;
      await new Promise((r) => setTimeout(r, 900));
      expect(a.events.filter((e) => e.type === 'escalated' && e.alert.id === id).length).toBe(escalationsSoFar); // stopped

      const resolved = await client(app, staff.moderator.token).post(`/api/alerts/${id}/resolve`, { resolution: 'called the performer; safe' });
      expect(resolved.body.status).toBe('resolved');
      expect(await env.ctx.redis.get(frozenRoomKey(env.config.redisPrefix, b.userId))).toBeNull();
      const audit = await env.ctx.database.sql`select action from actions where subject_id = ${id} order by chain_seq`;
      expect(audit.map((r) => r.action)).toEqual(['panic', 'escalate_alert', 'acknowledge_alert', 'resolve_alert']);
      // its critical case leaves the queue with it, the resolution as the decision's note
      const [closed] = await env.ctx.database.sql`select status, decision, decision_note from cases where id = ${row!.caseId}`;
      expect(closed).toMatchObject({ status: 'resolved', decision: 'resolve_alert', decision_note: 'called the performer; safe' });
      expect((await client(app, performer.token).post(`/api/alerts/${id}/ack`)).status).toBe(403);
    } finally {
      await a.close();
      await s.close();
    }
  });

  it('can hide the performer\'s stream from viewers until the alert is resolved (tests/age-gate.test.ts plays it for real)', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'panic-hider');
    const performer = await seedSession(env.ctx.db, 'panic-hider', 'performer');
    const sub = await connectRedis(env.config.redisUrl);
    const drops: { broadcastId: string; reason: string }[] = [];
    await sub.subscribe(enforcementChannel(env.config.redisPrefix));
    sub.on('message', (_c, m) => { const msg = JSON.parse(m) as { type: string; broadcastId: string; reason: string }; if (msg.type === 'drop_viewers') drops.push(msg); });
    try {
      const res = await client(app, performer.token).post('/api/alerts/panic', { broadcastId: b.broadcastId, protection: 'hide_stream' });
      expect(res.status).toBe(202);
      const id = res.body.alert.id as string;
      await waitFor(() => drops.some((d) => d.broadcastId === b.broadcastId), 'drop_viewers for the performer\'s broadcast', 3000, 10);
      expect(drops[0]!.reason).toContain(id);
      expect(await env.ctx.redis.get(hiddenBroadcastKey(env.config.redisPrefix, b.broadcastId))).toBe(id);
      expect(await env.ctx.redis.ttl(hiddenBroadcastKey(env.config.redisPrefix, b.broadcastId))).toBeGreaterThan(3600);
      expect(await env.ctx.redis.get(frozenRoomKey(env.config.redisPrefix, b.userId))).toBeNull(); // the chat is not frozen by it
      expect((await client(app, staff.viewer.token).post(`/api/broadcasts/${b.broadcastId}/play`)).body.error.code).toBe('hidden');
      expect((await client(app, performer.token).post('/api/alerts/panic', { protection: 'hide_everything' })).status).toBe(400);
      expect((await client(app, staff.moderator.token).post(`/api/alerts/${id}/resolve`, { resolution: 'performer safe' })).status).toBe(200);
      expect(await env.ctx.redis.exists(hiddenBroadcastKey(env.config.redisPrefix, b.broadcastId))).toBe(0);
    } finally {
      sub.disconnect();
    }
  });

  it('can end the performer\'s own broadcast, never another\'s; presses are never rate-limited', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'panic-ender');
    const other = await seedBroadcast(env.ctx.db, env.config.dataDir, 'panic-other');
    const performer = await seedSession(env.ctx.db, 'panic-ender', 'performer');
    const sub = await connectRedis(env.config.redisUrl);
    const ended: string[] = [];
    await sub.subscribe(enforcementChannel(env.config.redisPrefix));
    sub.on('message', (_c, m) => { const msg = JSON.parse(m) as { type: string; broadcastId?: string }; if (msg.type === 'end_stream') ended.push(msg.broadcastId!); });
    try {
      const res = await client(app, performer.token).post('/api/alerts/panic', { broadcastId: b.broadcastId, protection: 'end_broadcast' });
      expect(res.status).toBe(202);
      await waitFor(() => ended.includes(b.broadcastId), 'end_stream for the performer\'s broadcast', 3000, 10);
      // naming someone else's broadcast: the alert still goes out, but nothing happens to that broadcast
      const foreign = await client(app, performer.token).post('/api/alerts/panic', { broadcastId: other.broadcastId, protection: 'end_broadcast' });
      expect(foreign.status).toBe(202);
      await new Promise((r) => setTimeout(r, 300));
      expect(ended).not.toContain(other.broadcastId);
      const burst = await Promise.all(Array.from({ length: 15 }, () => client(app, performer.token).post('/api/alerts/panic', {})));
      expect(burst.map((r) => r.status)).toEqual(Array(15).fill(202));
    } finally {
      sub.disconnect();
    }
  });

  it('is delivered while Postgres is unreachable and stored when it answers again', async () => {
    // this node reaches Postgres through a TCP proxy; cutting the proxy is Postgres going away for it
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((inbound) => {
      const outbound = net.connect(5432, '127.0.0.1');
      for (const x of [inbound, outbound]) { sockets.add(x); x.on('error', () => {}); x.on('close', () => sockets.delete(x)); }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const url = new URL(env.config.databaseUrl);
    url.port = String((proxy.address() as AddressInfo).port);
    const down = await connectDatabase(url.toString(), { max: 1 });
    proxy.close();
    for (const x of sockets) x.destroy();
    const offline = new AlertService({
      db: down.db, redis: env.ctx.redis, prefix: env.config.redisPrefix, logger: env.ctx.logger, ackMs: 60_000, maxEscalations: 1,
      escalationUrl: null, webhookSecret: SECRET, slaMinutes: env.config.review.slaMinutes,
    });
    const a = await stream(staff.moderator.token);
    try {
      const performer = await seedSession(env.ctx.db, 'panic-offline', 'performer');
      // the performer used the API earlier (the session is in the Redis session cache); now the panic button is
      // pressed on a node that cannot reach Postgres: the press is authenticated and delivered all the same
      expect((await client(app, performer.token).get('/api/me')).status).toBe(200);
      const offlineApp = createApi({ ctx: { ...env.ctx, database: down }, alerts: offline, alertHub: hub });
      const pressed = Date.now();
      const res = await client(offlineApp, performer.token).post('/api/alerts/panic', { message: 'help' });
      expect(res.status).toBe(202);
      expect(Date.now() - pressed).toBeLessThan(2000);
      const r = res.body as { alert: { id: string }; stored: boolean };
      expect(r.stored).toBe(false);
      // a session the cache does not hold needs Postgres, which is not there: no alert is raised in its name
      const stranger = await seedSession(env.ctx.db, 'panic-stranger', 'performer');
      expect((await client(offlineApp, stranger.token).post('/api/alerts/panic', { message: 'x' })).status).toBeGreaterThanOrEqual(500);
      await waitFor(() => a.events.find((e) => e.alert.id === r.alert.id), 'the alert despite Postgres being down', 3000, 10);
      // this node did not store it (stored: false); it waits in Redis for a node that reaches Postgres, which may
      // already be the other node's 2 s drain loop (between its pop and its insert it is in neither place, so poll)
      await waitFor(async () => (await env.ctx.redis.lrange(`${env.config.redisPrefix}:alerts:pending`, 0, -1)).some((x) => x.includes(r.alert.id))
        || (await getAlert(env.ctx.db, r.alert.id)) !== undefined, 'the alert pending in Redis or drained by the other node', 3000, 10);
      // Postgres answers again: any node drains the pending alerts (this one now, or its own 2 s drain loop first;
      // the list may also hold the earlier test's alert naming someone else's broadcast)
      // a moderator acknowledges on the node without Postgres: moderators see it at once; it is stored later
      const acked = await offline.acknowledge({ userId: staff.moderator.userId, handle: staff.moderator.handle }, r.alert.id);
      expect(acked.status).toBe('acknowledged');
      await waitFor(() => a.events.find((e) => e.alert.id === r.alert.id && e.type === 'acknowledged'), 'the acknowledgement despite Postgres being down', 3000, 10);
      await alerts.drainPending();
      expect(await env.ctx.redis.llen(`${env.config.redisPrefix}:alerts:pending`)).toBe(0);
      expect(await env.ctx.redis.llen(`${env.config.redisPrefix}:alerts:pending-ops`)).toBe(0);
      expect(await getAlert(env.ctx.db, r.alert.id)).toMatchObject({ message: 'help', status: 'acknowledged', acknowledgedBy: staff.moderator.userId });
      const audit = await env.ctx.database.sql`select action from actions where subject_id = ${r.alert.id} order by chain_seq`;
      expect(audit.map((x) => x.action)).toEqual(['panic', 'acknowledge_alert']);
      await alerts.drainPending(); // draining again writes nothing twice
      expect((await env.ctx.database.sql`select count(*)::int as n from actions where subject_id = ${r.alert.id}`)[0]!.n).toBe(2);
    } finally {
      await a.close();
      await down.close().catch(() => {});
    }
  });
});
