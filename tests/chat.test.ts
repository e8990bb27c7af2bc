// Live chat over real WebSockets on real Redis and Postgres: who may join (signed-in attested adults; the
// performer and staff), verdicts before fan-out, limits, restrictions, room terms, and enforcement across two
// nodes (this process, and a second `warden serve` process).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import WebSocket from 'ws';
import { openBroadcast, schema, setSlowMode, upsertRoomTerm } from '../db/index.ts';
import { ChatModeration } from '../moderation/index.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { connectChat, type ChatClient } from '../ingest/chat/client.ts';
import { createTestEnv, freePort, waitFor, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let env: TestEnv;
let nodeA: WardenHandle;
/** Node B: a separate `warden serve` process on the same Postgres and Redis. */
let nodeB: { httpUrl: string; child: ChildProcess };
let broadcastId: string;
let ownerId: string;
const clients: ChatClient[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  nodeA = await startWarden(env.ctx, { api: true });
  const port = await freePort();
  const child = spawn(path.join(root, 'bin/warden'), ['serve'], {
    env: {
      PATH: process.env.PATH!, HOME: process.env.HOME!, DATABASE_URL: env.config.databaseUrl, REDIS_URL: env.config.redisUrl,
      REDIS_PREFIX: env.config.redisPrefix, HTTP_PORT: String(port), RTMP_PORT: String(await freePort()), RTMP_HOST: '127.0.0.1',
      DATA_DIR: path.join(env.config.dataDir, 'node-b'), NODE_ID: 'chat-node-b', WORKER_PROCESSES: '1', LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  nodeB = { httpUrl: `http://127.0.0.1:${port}`, child };
  await waitFor(async () => (await fetch(`${nodeB.httpUrl}/readyz`).catch(() => null))?.ok, 'node B ready', 60_000, 250);
  const p = await seedPerformer(env.ctx.db, 'chat-performer', { verified: true });
  ownerId = p.userId;
  const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${ownerId}`);
  ({ id: broadcastId } = await openBroadcast(env.ctx.db, { userId: ownerId, streamKeyId: key!.id, ingestNode: 'chat-test' }));
});
afterAll(async () => {
  for (const c of clients) c.close();
  if (nodeB) {
    const exited = new Promise((r) => nodeB.child.once('exit', r));
    nodeB.child.kill('SIGTERM');
    await exited;
  }
  await nodeA?.stop();
  await env?.cleanup();
});

async function viewer(handle: string, node: { httpUrl?: string } = nodeA): Promise<ChatClient & { userId: string }> {
  const s = await seedSession(env.ctx.db, handle);
  const c = await connectChat(node.httpUrl!, broadcastId, s.token);
  clients.push(c);
  return Object.assign(c, { userId: s.userId });
}
/** A viewer who only reads the room (a signed-in attested adult, as every member of a room is). */
let watchers = 0;
async function watcher(node: { httpUrl?: string } = nodeA): Promise<ChatClient> {
  const s = await seedSession(env.ctx.db, `watcher-${++watchers}`);
  const c = await connectChat(node.httpUrl!, broadcastId, s.token);
  clients.push(c);
  return c;
}

describe('chat gateway', () => {
  it('delivers a clean message to everyone in the room, on both nodes, and stores it with its verdict', async () => {
    const alice = await viewer('alice');
    const watcherA = await watcher();
    const watcherB = await watcher(nodeB);
    const gotA = watcherA.next('message');
    const gotB = watcherB.next('message');
    alice.post('hello everyone, great stream tonight');
    expect(await alice.next('ack')).toMatchObject({ verdict: 'allow' });
    expect(await gotA).toMatchObject({ user: 'alice', text: 'hello everyone, great stream tonight' });
    expect(await gotB).toMatchObject({ user: 'alice' });
    const rows = await env.ctx.db.select().from(schema.chatMessages).where(sql`body = 'hello everyone, great stream tonight'`);
    expect(rows).toMatchObject([{ verdict: 'allow', userId: alice.userId, broadcastId }]);
  });

  it('lets only signed-in attested adults join (reading or posting); the performer and staff need no attestation', async () => {
    await expect(connectChat(nodeA.httpUrl!, broadcastId)).rejects.toThrow(/HTTP 401 unauthenticated/);
    const minorish = await seedSession(env.ctx.db, 'not-attested', 'viewer', { adult: false });
    await expect(connectChat(nodeA.httpUrl!, broadcastId, minorish.token)).rejects.toThrow(/HTTP 403 age_unverified/);
    await expect(connectChat(nodeB.httpUrl, broadcastId, minorish.token)).rejects.toThrow(/HTTP 403 age_unverified/);
    const adult = await viewer('attested-adult');
    expect(adult.log[0]).toMatchObject({ type: 'hello', user: 'attested-adult', canPost: true });
    for (const [handle, role] of [['chat-performer', 'performer'], ['chat-moderator', 'moderator']] as const) {
      const s = await seedSession(env.ctx.db, handle, role, { adult: false }); // chat-performer: the room's own, by handle
      const c = await connectChat(nodeA.httpUrl!, broadcastId, s.token);
      clients.push(c);
      expect(c.log[0]).toMatchObject({ type: 'hello', user: handle });
    }
  });

  it('blocks a violating message before fan-out, tells the sender which rule, and catches evasions', async () => {
    const bob = await viewer('bob');
    const reader = await watcher();
    for (const text of ['add me on snapchat: bob_1999', 'my number is 555-123-4567', 'a\u200bdd me on snаpchat bob99']) {
      bob.post(text);
      const blocked = await bob.next('blocked');
      expect(blocked.rules.join(' ')).toMatch(/platform rule/);
      await new Promise((r) => setTimeout(r, 1100)); // not a flood
    }
    expect(reader.log.filter((m) => m.type === 'message')).toHaveLength(0);
    const actions = await env.ctx.db.select().from(schema.actions).where(sql`action = 'block_message' and user_id = ${bob.userId}`);
    expect(actions).toHaveLength(3);
  });

  it('delivers innocent look-alikes', async () => {
    const carol = await viewer('carol');
    for (const text of ['greetings from Scunthorpe!', 'I was 14 minutes late, sorry', 'that cocktail recipe is killer']) {
      carol.post(text);
      expect(await carol.next('ack')).toMatchObject({ verdict: expect.stringMatching(/allow|flag/) });
      await new Promise((r) => setTimeout(r, 300));
    }
  });

  it('holds a possible minor\'s self-disclosure and opens a critical case with the chat around it', async () => {
    const dana = await viewer('dana');
    dana.post('im 14 and my mom doesnt know im here');
    await dana.next('held');
    const [c] = await env.ctx.db.select().from(schema.cases).where(sql`subject_id = ${dana.userId}`);
    expect(c).toMatchObject({ priority: 'critical', reason: 'chat.minor_disclosure', status: 'open' });
    const [ev] = await env.ctx.db.select().from(schema.caseEvidence).where(sql`case_id = ${c!.id}`);
    const details = ev!.details as { body: string; context: { body: string }[] };
    expect(details.body).toContain('im 14');
    expect(details.context.map((m) => m.body)).toContain('hello everyone, great stream tonight');
  });

  it('answers self-harm with support, never a block', async () => {
    const erin = await viewer('erin');
    erin.post('honestly i want to kill myself');
    expect(await erin.next('support')).toMatchObject({ type: 'support' });
    expect(erin.log.some((m) => m.type === 'blocked')).toBe(false);
  });

  it('refuses oversize, empty, malformed and binary frames with a reason, and closes on huge or invalid UTF-8 frames', async () => {
    const fay = await viewer('fay');
    fay.post('x'.repeat(501));
    expect(await fay.next('refused')).toMatchObject({ code: 'too_long' });
    fay.post('   ');
    expect(await fay.next('refused')).toMatchObject({ code: 'empty' });
    fay.ws.send('{not json');
    expect(await fay.next('refused')).toMatchObject({ code: 'invalid_frame' });
    fay.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await fay.next('refused')).toMatchObject({ code: 'invalid_frame' });
    fay.ws.send(JSON.stringify({ type: 'message', text: 'y'.repeat(20_000) }));
    expect((await fay.closed).code).toBe(1009);
    const gus = await viewer('gus');
    (gus.ws as WebSocket & { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28])); // masked text frame, bytes C3 28 (invalid UTF-8)
    expect((await gus.closed).code).toBe(1007);
  });

  it('rate-limits bursts and refuses duplicates, shared across nodes', async () => {
    const s = await seedSession(env.ctx.db, 'hal');
    const onA = await connectChat(nodeA.httpUrl!, broadcastId, s.token);
    const onB = await connectChat(nodeB.httpUrl!, broadcastId, s.token);
    clients.push(onA, onB);
    onA.post('same words');
    await onA.next('ack');
    onB.post('same words');
    expect(await onB.next('refused')).toMatchObject({ code: 'duplicate' });
    const refusals: string[] = [];
    for (let i = 0; i < 6; i++) {
      (i % 2 ? onA : onB).post(`message number ${i}`);
      const m = await Promise.race([(i % 2 ? onA : onB).next('ack'), (i % 2 ? onA : onB).next('refused')]);
      if (m.type === 'refused') refusals.push(m.code);
    }
    expect(refusals).toContain('rate_limited');
  });

  it('applies slow mode and the performer\'s own terms on top of the platform policy', async () => {
    await upsertRoomTerm(env.ctx.db, ownerId, 'spoiler', 'block');
    nodeA.chat!.invalidateRoom(ownerId);
    const ivy = await viewer('ivy');
    ivy.post('big SPOILER ahead');
    expect(await ivy.next('blocked')).toMatchObject({ rules: ['room term "spoiler"'] });
    await setSlowMode(env.ctx.db, ownerId, 30);
    nodeA.chat!.invalidateRoom(ownerId);
    const jay = await viewer('jay');
    jay.post('first');
    await jay.next('ack');
    jay.post('second');
    const r = await jay.next('refused');
    expect(r).toMatchObject({ code: 'slow_mode' });
    expect(r.retryAfterMs).toBeGreaterThan(25_000);
    await setSlowMode(env.ctx.db, ownerId, 0);
    nodeA.chat!.invalidateRoom(ownerId);
  });

  it('times out a repeat offender after three blocks, and tells them until when', async () => {
    const kim = await viewer('kim');
    for (const text of ['dm me on telegram kim1', 'whatsapp me kim2', 'my cashapp is $kim3']) {
      kim.post(text);
      await kim.next('blocked');
      await new Promise((r) => setTimeout(r, 1100));
    }
    const pushed = await kim.next('restricted', 5000, 0);
    expect(pushed).toMatchObject({ kind: 'timeout' });
    kim.post('sorry');
    const refused = await kim.next('refused');
    expect(refused).toMatchObject({ code: 'restricted' });
    expect(Date.parse(refused.until!)).toBeGreaterThan(Date.now() + 9 * 60_000);
    const [ban] = await env.ctx.db.select().from(schema.bans).where(sql`user_id = ${kim.userId}`);
    expect(ban).toMatchObject({ kind: 'timeout', scope: 'platform' });
  });

  it('a ban decided on node A stops the user posting on node B at once', async () => {
    const s = await seedSession(env.ctx.db, 'lee');
    const onB = await connectChat(nodeB.httpUrl!, broadcastId, s.token);
    clients.push(onB);
    const moderation = new ChatModeration({ db: env.ctx.db, redis: env.ctx.redis, prefix: env.config.redisPrefix, logger: env.ctx.logger });
    const pushed = onB.next('restricted');
    await moderation.restrict({ userId: s.userId, kind: 'ban', scope: 'platform', durationMs: null, reason: 'test ban from node A', actor: 'test' });
    expect(await pushed).toMatchObject({ kind: 'ban', until: null });
    onB.post('can I still talk?');
    expect(await onB.next('refused')).toMatchObject({ code: 'restricted' });
    await waitFor(async () => (await env.ctx.db.select().from(schema.chatMessages).where(sql`user_id = ${s.userId}`)).length === 0, 'nothing stored');
  });

  it('the performer\'s panic button on the room socket raises an alert and freezes the chat on every node', async () => {
    const fan = await viewer('fan-before-panic');
    fan.post('hello there');
    await fan.next('ack');
    const impostor = await viewer('not-the-performer');
    impostor.ws.send(JSON.stringify({ type: 'panic', protection: 'end_broadcast' }));
    expect(await impostor.next('refused')).toMatchObject({ code: 'forbidden' });
    const owner = await seedSession(env.ctx.db, 'chat-performer', 'performer'); // the room's performer, by handle
    const socket = await connectChat(nodeB.httpUrl, broadcastId, owner.token);
    clients.push(socket);
    socket.ws.send(JSON.stringify({ type: 'panic', protection: 'freeze_chat', message: 'a viewer is threatening me' }));
    const got = await socket.next('panic_received');
    expect(got).toMatchObject({ stored: true });
    const [alert] = await env.ctx.db.select().from(schema.alerts).where(sql`id = ${(got as { alertId: string }).alertId}`);
    expect(alert).toMatchObject({ userId: ownerId, broadcastId, protection: 'freeze_chat', message: 'a viewer is threatening me' });
    fan.post('are you ok?');
    expect(await fan.next('refused')).toMatchObject({ code: 'restricted' });
  });
});
