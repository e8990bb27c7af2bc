// The moderation API's queue semantics on the real Postgres and Redis: priority order, exclusive claims that
// lapse, exactly one winner among concurrent deciders, decisions enforced (ban → bans row, chat mirror, kick
// message), statements of reasons, undo, reports joining one case, appeals by a different senior, strikes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApi } from '../api/index.ts';
import { connectRedis } from '../core/redis.ts';
import { Intake, ReviewService, enforcementChannel, restrictionKey } from '../moderation/index.ts';
import { addEvidence, insertChatMessage, openOrJoinCase } from '../db/index.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';
import { seedSession } from '../bin/seed.ts';
import { client, seedBroadcast, seedCase, seedStaff, type Staff } from './review-fixtures.ts';

let env: TestEnv;
let app: ReturnType<typeof createApi>;
let staff: Awaited<ReturnType<typeof seedStaff>>;
const as = (s: Staff) => client(app, s.token);

beforeAll(async () => {
  env = await createTestEnv();
  env.ctx.config.review.undoMs = 3000;
  app = createApi({ ctx: env.ctx });
  staff = await seedStaff(env.ctx.db, 'r');
});
afterAll(async () => env?.cleanup());

describe('review queue', () => {
  it('lists cases most urgent first with counts per priority, and filters', async () => {
    const a = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-order-a');
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-order-b');
    const low = await seedCase(env.ctx.db, a, 'suggestive.flag', 'low');
    const urgent = await seedCase(env.ctx.db, b, 'spoken_threat.flag', 'urgent');
    const res = await as(staff.moderator).get('/api/cases?perPage=100');
    expect(res.status).toBe(200);
    const ids = res.body.data.map((c: { id: string }) => c.id);
    expect(ids.indexOf(urgent)).toBeLessThan(ids.indexOf(low));
    expect(res.body.counts.urgent).toBeGreaterThanOrEqual(1);
    expect(res.body.counts.low).toBeGreaterThanOrEqual(1);
    const only = await as(staff.moderator).get('/api/cases?priority=low&reason=suggestive');
    expect(only.body.data.map((c: { id: string }) => c.id)).toEqual([low]);
    expect(only.body.data[0]).toMatchObject({ status: 'open', user: { handle: 'perf-order-a' }, evidenceCount: 1 });
    expect(only.body.data[0].thumbnailUrl).toMatch(/^\/api\/samples\/.+\/image$/);
    const bad = await as(staff.moderator).get('/api/cases?priority=extreme');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/priority/);
  });

  it('streams case changes as server-sent events, only from queues the moderator may see', async () => {
    const res = await app.request('http://localhost/api/events', { headers: { authorization: `Bearer ${staff.moderator.token}` } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (pred: (t: string) => boolean) => {
      const deadline = Date.now() + 5000;
      while (!pred(text) && Date.now() < deadline) {
        const { value, done } = await Promise.race([reader.read(), new Promise<{ value: undefined; done: true }>((r) => setTimeout(() => r({ value: undefined, done: true }), 500))]);
        if (value) text += new TextDecoder().decode(value);
        if (done && !value) continue;
      }
      return pred(text);
    };
    try {
      expect(await until((t) => t.includes('event: ready'))).toBe(true);
      const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-sse');
      const hidden = await seedCase(env.ctx.db, b, 'spoken_minor.flag', 'critical', 'minor_safety');
      const shown = await seedCase(env.ctx.db, b, 'sexual_explicit.flag', 'high');
      expect(await until((t) => t.includes(shown))).toBe(true);
      expect(text).toMatch(/event: case\ndata: \{"id":"[^"]+","status":"open","priority":"high","queue":"general"/);
      expect(text).not.toContain(hidden);
    } finally {
      await reader.cancel();
    }
  });

  it('a claim is exclusive, renewable, releasable, and lapses when its holder goes idle', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-claim');
    const id = await seedCase(env.ctx.db, b);
    expect((await as(staff.moderator).post(`/api/cases/${id}/claim`)).body).toMatchObject({ status: 'claimed', claimedBy: { handle: staff.moderator.handle } });
    const other = await as(staff.moderator2).post(`/api/cases/${id}/claim`);
    expect(other.status).toBe(409);
    expect(other.body.error.message).toContain(staff.moderator.handle);
    expect((await as(staff.moderator2).post(`/api/cases/${id}/release`)).status).toBe(409);
    expect((await as(staff.moderator).post(`/api/cases/${id}/claim`)).status).toBe(200); // renew
    // the holder goes idle: the claim lapses and anyone may take it
    await env.ctx.db.execute(sql`update cases set claim_expires_at = now() - interval '1 second' where id = ${id}`);
    expect((await as(staff.moderator).get(`/api/cases/${id}`)).body.status).toBe('open');
    expect((await as(staff.moderator2).post(`/api/cases/${id}/claim`)).status).toBe(200);
    expect((await as(staff.moderator2).post(`/api/cases/${id}/release`)).body.status).toBe('open');
  });

  it('a direct ban opens its case and decides it in one transaction: a refused ban leaves no case and no ban', async () => {
    const target = await seedSession(env.ctx.db, 'direct-ban-target', 'viewer');
    // another moderator holds the open manual case for this user and reason: the ban joins it and is refused (409)
    const held = await openOrJoinCase(env.ctx.db, {
      subjectType: 'user', subjectId: target.userId, userId: target.userId, broadcastId: null, reasonType: 'rule', reason: 'manual.spam',
      priority: 'high', slaDueAt: new Date(Date.now() + 3_600_000), policyVersion: null, queue: 'general',
    });
    expect((await as(staff.moderator2).post(`/api/cases/${held.id}/claim`)).status).toBe(200);
    const refused = await as(staff.moderator).post(`/api/users/${target.userId}/ban`, { reasonCode: 'spam', note: 'link spam' });
    expect(refused.status).toBe(409);
    const cases = await env.ctx.database.sql`select id, status, claimed_by from cases where subject_id = ${target.userId}`;
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ id: held.id, status: 'claimed', claimed_by: staff.moderator2.userId });
    expect(await env.ctx.database.sql`select 1 from bans where user_id = ${target.userId}`).toHaveLength(0);
    // a direct ban on someone else: one case, decided, with the ban
    const other = await seedSession(env.ctx.db, 'direct-ban-other', 'viewer');
    const ok = await as(staff.moderator).post(`/api/users/${other.userId}/ban`, { reasonCode: 'spam', note: 'link spam' });
    expect(ok.status).toBe(200);
    const [decided] = await env.ctx.database.sql`select id, status, decision from cases where subject_id = ${other.userId}`;
    expect(decided).toMatchObject({ id: ok.body.caseId, status: 'resolved', decision: 'ban' });
    // the case is opened inside the decision's transaction: a failure after opening it takes the case back too
    const review = new ReviewService({ db: env.ctx.db, redis: env.ctx.redis, prefix: env.config.redisPrefix, logger: env.ctx.logger, policy: env.ctx.policy, review: env.config.review });
    const intake = new Intake({ db: env.ctx.db, policy: env.ctx.policy, review: env.config.review });
    const third = await seedSession(env.ctx.db, 'direct-ban-third', 'viewer');
    const manual = await intake.manualCase({ subjectType: 'user', subjectId: third.userId, reasonCode: 'spam' });
    const failing = { ...manual, open: async (tx: Parameters<typeof manual.open>[0]) => { await manual.open(tx); throw new Error('the database went away'); } };
    await expect(review.decide({ userId: staff.moderator.userId, role: 'moderator', permissions: [] }, failing, { action: 'ban', reasonCode: 'spam' })).rejects.toThrow(/went away/);
    expect(await env.ctx.database.sql`select 1 from cases where subject_id = ${third.userId}`).toHaveLength(0);
  });

  it('of two moderators claiming or deciding one case at once, exactly one wins', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-race');
    const claimRace = await seedCase(env.ctx.db, b, 'sexual_explicit.flag');
    const claims = await Promise.all([staff.moderator, staff.moderator2, staff.senior, staff.admin].map((s) => as(s).post(`/api/cases/${claimRace}/claim`)));
    expect(claims.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);

    const b2 = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-race2');
    const decideRace = await seedCase(env.ctx.db, b2, 'suggestive.flag', 'normal');
    const decisions = await Promise.all([staff.moderator, staff.moderator2, staff.senior].map((s) =>
      as(s).post(`/api/cases/${decideRace}/decision`, { action: 'warn', reasonCode: 'nudity' })));
    expect(decisions.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const { n } = (await env.ctx.database.sql`select count(*)::int as n from actions where case_id = ${decideRace} and action = 'warn'`)[0]!;
    expect(n).toBe(1);
    const { s } = (await env.ctx.database.sql`select count(*)::int as s from statements where case_id = ${decideRace}`)[0]!;
    expect(s).toBe(1);
  });

  it('a moderator cannot decide a case another moderator holds', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-held');
    const id = await seedCase(env.ctx.db, b);
    await as(staff.moderator).post(`/api/cases/${id}/claim`);
    const res = await as(staff.moderator2).post(`/api/cases/${id}/decision`, { action: 'ban', reasonCode: 'sexual_content' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    const { n } = (await env.ctx.database.sql`select count(*)::int as n from bans where user_id = ${b.userId}`)[0]!;
    expect(n).toBe(0);
  });

  it('a ban is enforced at once: bans row, chat mirror, kick message, audit entry, statement of reasons; undo reverts it', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-ban');
    const id = await seedCase(env.ctx.db, b);
    const sub = await connectRedis(env.config.redisUrl);
    const messages: { type: string; userId?: string }[] = [];
    await sub.subscribe(enforcementChannel(env.config.redisPrefix));
    sub.on('message', (_c, m) => messages.push(JSON.parse(m)));
    try {
      const detail = await as(staff.moderator).get(`/api/cases/${id}`);
      expect(detail.body.suggestedReasonCode).toBe('sexual_content');
      expect(detail.body.allowedDecisions).toContain('ban');
      expect(detail.body.evidence[0]).toMatchObject({ kind: 'frame', scores: { Porn: expect.closeTo(0.93, 5) } });
      const img = await app.request(`http://localhost${detail.body.evidence[0].imageUrl}`, { headers: { authorization: `Bearer ${staff.moderator.token}` } });
      expect(img.headers.get('content-type')).toBe('image/jpeg');
      expect((await img.arrayBuffer()).byteLength).toBeGreaterThan(1000);

      const res = await as(staff.moderator).post(`/api/cases/${id}/decision`, { action: 'ban', reasonCode: 'sexual_content', note: 'explicit on camera' });
      expect(res.status).toBe(200);
      expect(res.body.case).toMatchObject({ status: 'resolved', decision: 'ban', reasonCode: 'sexual_content' });
      expect(Date.parse(res.body.undoUntil)).toBeGreaterThan(Date.now());
      await waitFor(() => messages.some((m) => m.type === 'kick_user' && m.userId === b.userId), 'kick_user message', 5000);
      expect(messages.some((m) => m.type === 'restrict_user' && m.userId === b.userId)).toBe(true);
      expect(await env.ctx.redis.get(restrictionKey(env.config.redisPrefix, 'platform', b.userId))).toContain('"kind":"ban"');
      const [ban] = await env.ctx.database.sql`select kind, case_id, expires_at from bans where user_id = ${b.userId} and lifted_at is null`;
      expect(ban).toMatchObject({ kind: 'ban', case_id: id, expires_at: null });

      const st = await as(staff.performer).get(`/api/statements/${res.body.statementId}`);
      expect(st.status).toBe(404); // someone else's statement
      const own = await client(app).get(`/api/statements/${res.body.statementId}`);
      expect(own.status).toBe(401);
      const statement = (await as(staff.moderator).get(`/api/statements/${res.body.statementId}`)).body;
      expect(statement).toMatchObject({ decision: 'ban', reasonCode: 'sexual_content', automatedDetection: true, automatedDecision: false, userId: b.userId });
      expect(statement.facts).toMatch(/banned.*sexual content.*automated detection.*Porn 0\.93.*explicit on camera/s);
      expect(statement.redress).toMatch(/appeal/i);
      const audit = (await as(staff.admin).get(`/api/audit?caseId=${id}`)).body;
      expect(audit.data.map((e: { action: string }) => e.action)).toContain('ban');

      // undo by someone else: refused; by the decider: the ban is lifted and the case is theirs again
      expect((await as(staff.moderator2).post(`/api/cases/${id}/undo`)).status).toBe(409);
      const undo = await as(staff.moderator).post(`/api/cases/${id}/undo`);
      expect(undo.status).toBe(200);
      expect(undo.body).toMatchObject({ status: 'claimed', decision: null, claimedBy: { handle: staff.moderator.handle } });
      expect(await env.ctx.redis.get(restrictionKey(env.config.redisPrefix, 'platform', b.userId))).toBeNull();
      const { active } = (await env.ctx.database.sql`select count(*)::int as active from bans where user_id = ${b.userId} and lifted_at is null`)[0]!;
      expect(active).toBe(0);
      expect((await as(staff.moderator).get(`/api/statements/${res.body.statementId}`)).body.withdrawnAt).not.toBeNull();
      // after the window, undo is refused
      await as(staff.moderator).post(`/api/cases/${id}/decision`, { action: 'warn', reasonCode: 'sexual_content' });
      await env.ctx.db.execute(sql`update cases set resolved_at = now() - interval '1 minute' where id = ${id}`);
      expect((await as(staff.moderator).post(`/api/cases/${id}/undo`)).status).toBe(409);
    } finally {
      sub.disconnect();
    }
  });

  it('rejects decisions that do not fit: unknown reason code, appeal-only actions, no broadcast to end', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-fit');
    const id = await seedCase(env.ctx.db, b);
    const unknown = await as(staff.moderator).post(`/api/cases/${id}/decision`, { action: 'ban', reasonCode: 'looked-funny' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/reason code/);
    expect((await as(staff.moderator).post(`/api/cases/${id}/decision`, { action: 'overturn', reasonCode: 'other' })).status).toBe(400);
    expect((await as(staff.moderator).post(`/api/cases/${id}/decision`, { action: 'nuke', reasonCode: 'other' })).status).toBe(400);
    expect((await as(staff.moderator).post(`/api/cases/${id}/decision`, 'not an object')).status).toBe(400);
    expect((await as(staff.moderator).post(`/api/cases/${id}/decision`, { action: 'remove', reasonCode: 'other' })).status).toBe(400); // no message to remove
  });

  it('removing a held chat message marks it removed, with a statement to its author', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-chat');
    const author = { handle: 'chat-author', ...(await seedSession(env.ctx.db, 'chat-author', 'viewer')) };
    const msg = await insertChatMessage(env.ctx.db, { broadcastId: b.broadcastId, userId: author.userId, body: 'you are going to regret this', verdict: 'hold' });
    const c = await openOrJoinCase(env.ctx.db, { subjectType: 'user', subjectId: author.userId, userId: author.userId, broadcastId: b.broadcastId, reasonType: 'rule', reason: 'chat.threat', priority: 'urgent', slaDueAt: new Date(Date.now() + 60_000) });
    await addEvidence(env.ctx.db, { caseId: c.id, sampleId: null, details: { messageId: msg.id, body: 'you are going to regret this' } });
    const detail = (await as(staff.moderator).get(`/api/cases/${c.id}`)).body;
    expect(detail.allowedDecisions).toContain('remove');
    expect(detail.suggestedReasonCode).toBe('violent_threat');
    expect(detail.chat.find((m: { highlight: boolean }) => m.highlight)).toMatchObject({ id: msg.id, handle: 'chat-author' });
    const res = await as(staff.moderator).post(`/api/cases/${c.id}/decision`, { action: 'remove', reasonCode: 'violent_threat' });
    expect(res.status).toBe(200);
    const [row] = await env.ctx.database.sql`select details from chat_messages where id = ${msg.id}`;
    expect((row!.details as { removedBy?: string }).removedBy).toBe(`moderator:${staff.moderator.userId}`);
    const statement = (await as(author).get(`/api/statements/${res.body.statementId}`)).body;
    expect(statement).toMatchObject({ decision: 'remove', restriction: { kind: 'content_removed' } });
    expect(statement.facts).toContain('you are going to regret this');
  });
});

describe('reports, appeals and strikes', () => {
  it('reports on one subject join one case and raise its priority; reporters are told the outcome', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-reported');
    const reporters = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => seedStaff(env.ctx.db, `rep${i}`).then((s) => s.viewer)));
    const first = await as(reporters[0]!).post('/api/reports', { subjectType: 'broadcast', subjectId: b.broadcastId, category: 'harassment', note: 'abusive' });
    expect(first.status).toBe(201);
    const caseId = first.body.caseId;
    expect((await as(staff.moderator).get(`/api/cases/${caseId}`)).body).toMatchObject({ priority: 'normal', reportCount: 1, reasonType: 'report' });
    expect((await as(reporters[0]!).post('/api/reports', { subjectType: 'broadcast', subjectId: b.broadcastId, category: 'spam' })).status).toBe(409);
    for (const r of reporters.slice(1)) expect((await as(r).post('/api/reports', { subjectType: 'broadcast', subjectId: b.broadcastId, category: 'harassment' })).body.caseId).toBe(caseId);
    const c = (await as(staff.moderator).get(`/api/cases/${caseId}`)).body;
    expect(c).toMatchObject({ reportCount: 6, priority: 'urgent' }); // normal → high at 3 reporters → urgent at 6
    expect(c.reports).toHaveLength(6);
    // what the viewers saw: the broadcast's latest frame is evidence, once however many reported it
    expect(c.evidence.filter((e: { kind: string }) => e.kind === 'frame')).toHaveLength(1);
    expect(c.evidence[0]).toMatchObject({ sampleId: b.sampleId, imageUrl: `/api/samples/${b.sampleId}/image` });
    expect((await as(reporters[0]!).post('/api/reports', { subjectType: 'broadcast', subjectId: '00000000-0000-4000-8000-000000000000', category: 'spam' })).status).toBe(404);
    expect((await as(reporters[0]!).post('/api/reports', { subjectType: 'broadcast', subjectId: b.broadcastId, category: 'bad-vibes' })).status).toBe(400);
    // reason codes that are not something a viewer reports: dismissal, and a moderator's verification decisions
    for (const category of ['no_violation', 'verification_face_mismatch']) {
      expect((await as(reporters[0]!).post('/api/reports', { subjectType: 'broadcast', subjectId: b.broadcastId, category })).status).toBe(400);
    }

    await as(staff.moderator).post(`/api/cases/${caseId}/decision`, { action: 'dismiss', reasonCode: 'no_violation' });
    const mine = (await as(reporters[2]!).get('/api/reports/mine')).body;
    expect(mine[0]).toMatchObject({ outcome: 'no violation found' });
    const notes = (await as(reporters[2]!).get('/api/notifications')).body;
    expect(notes.some((n: { kind: string }) => n.kind === 'report_outcome')).toBe(true);
  });

  it('a report of a possible minor goes to the minor-safety queue, hidden from moderators without the permission', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-minor');
    const r = await as(staff.viewer).post('/api/reports', { subjectType: 'broadcast', subjectId: b.broadcastId, category: 'minor_safety' });
    expect(r.status).toBe(201);
    expect((await as(staff.moderator).get(`/api/cases/${r.body.caseId}`)).status).toBe(403);
    expect((await as(staff.moderator).get('/api/cases?perPage=100')).body.data.some((c: { id: string }) => c.id === r.body.caseId)).toBe(false);
    const senior = (await as(staff.senior).get(`/api/cases/${r.body.caseId}`)).body;
    expect(senior).toMatchObject({ queue: 'minor_safety', priority: 'critical' });
    await env.ctx.db.execute(sql`update users set permissions = array['queue:minor_safety'] where id = ${staff.moderator2.userId}`);
    expect((await as(staff.moderator2).get(`/api/cases/${r.body.caseId}`)).status).toBe(200);
  });

  it('an appeal is filed by the affected user and decided by a different senior moderator; overturning lifts the ban', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-appeal');
    const id = await seedCase(env.ctx.db, b);
    const me = { handle: 'perf-appeal', ...(await seedSession(env.ctx.db, 'perf-appeal', 'performer')) }; // the performer, by handle
    const decided = await as(staff.senior).post(`/api/cases/${id}/decision`, { action: 'suspend', reasonCode: 'sexual_content', durationHours: 48 });
    expect(decided.status).toBe(200);
    const mine = (await as(me).get('/api/statements')).body;
    expect(mine[0]).toMatchObject({ id: decided.body.statementId, decision: 'suspend', restriction: { kind: 'suspension' } });
    expect((await as(staff.viewer).post('/api/appeals', { statementId: decided.body.statementId, body: 'this was not me at all' })).status).toBe(404);
    const appeal = await as(me).post('/api/appeals', { statementId: decided.body.statementId, body: 'the classifier mistook my costume' });
    expect(appeal.status).toBe(201);
    expect((await as(me).post('/api/appeals', { statementId: decided.body.statementId, body: 'again, please look' })).status).toBe(409);
    // not a junior moderator, not the senior who decided
    expect((await as(staff.moderator).get(`/api/cases/${appeal.body.caseId}`)).status).toBe(403);
    expect((await as(staff.senior).post(`/api/cases/${appeal.body.caseId}/claim`)).status).toBe(403);
    const view = (await as(staff.senior2).get(`/api/cases/${appeal.body.caseId}`)).body;
    expect(view.appeal).toMatchObject({ body: 'the classifier mistook my costume', originalDecidedBy: { id: staff.senior.userId } });
    expect(view.allowedDecisions).toEqual(['uphold', 'overturn']);
    const overturn = await as(staff.senior2).post(`/api/cases/${appeal.body.caseId}/decision`, { action: 'overturn', reasonCode: 'no_violation', note: 'costume' });
    expect(overturn.status).toBe(200);
    const { active } = (await env.ctx.database.sql`select count(*)::int as active from bans where user_id = ${b.userId} and lifted_at is null`)[0]!;
    expect(active).toBe(0);
    expect((await as(me).get(`/api/appeals/${appeal.body.id}`)).body.status).toBe('overturned');
    expect((await as(me).get('/api/notifications')).body.some((n: { kind: string }) => n.kind === 'appeal_outcome')).toBe(true);
  });

  it('strikes add up by the policy weights and escalate to a suspension, then a ban', async () => {
    const b = await seedBroadcast(env.ctx.db, env.config.dataDir, 'perf-strikes');
    // violent_threat weighs 5: the first warning reaches the suspension step (5), the second the ban step (10)
    const first = await seedCase(env.ctx.db, b, 'spoken_threat.flag', 'urgent');
    const r1 = await as(staff.moderator).post(`/api/cases/${first}/decision`, { action: 'warn', reasonCode: 'violent_threat' });
    expect(r1.body.escalatedTo).toBe('suspend');
    const second = await seedCase(env.ctx.db, b, 'chat.threat', 'urgent');
    const r2 = await as(staff.moderator).post(`/api/cases/${second}/decision`, { action: 'warn', reasonCode: 'violent_threat' });
    expect(r2.body.escalatedTo).toBe('ban');
    const history = (await as(staff.moderator).get(`/api/users/${b.userId}`)).body;
    expect(history.strikePoints).toBe(10);
    const listed = (await as(staff.moderator).get('/api/users?q=perf-strikes')).body;
    expect(listed.data[0]).toMatchObject({ handle: 'perf-strikes', strikePoints: 10, restriction: { kind: 'ban', until: null } });
    expect(history.bans.filter((x: { active: boolean }) => x.active).map((x: { kind: string }) => x.kind).sort()).toEqual(['ban', 'suspension']);
    expect(history.statements.some((s: { automatedDecision: boolean; decision: string }) => s.automatedDecision && s.decision === 'ban')).toBe(true);
    // expired strikes stop counting
    await env.ctx.db.execute(sql`update strikes set expires_at = now() - interval '1 second' where user_id = ${b.userId}`);
    expect((await as(staff.moderator).get(`/api/users/${b.userId}`)).body.strikePoints).toBe(0);
    // a senior lifts the bans
    expect((await as(staff.moderator).post(`/api/users/${b.userId}/lift`, { note: 'served' })).status).toBe(403);
    expect((await as(staff.senior).post(`/api/users/${b.userId}/lift`, { note: 'served' })).body).toEqual({ lifted: 2 });
  });
});
