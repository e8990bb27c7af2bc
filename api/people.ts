/**
 * People: users and their history (moderators, or the user themself), bans, suspensions and lifts; a user's
 * statements of reasons and notifications; viewer reports; appeals. A performer or viewer sees only their own.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import {
  getAppeal, getStatement, getUser, listAppeals, listAudit, listCases, listUsers, userNotifications, userReports, userStanding, userStatements,
  type Db,
} from '../db/index.ts';
import { roles } from '../db/schema.ts';
import { isReportCategory, isSenior, type Intake, type ReviewService } from '../moderation/index.ts';
import type { ModerationPolicy } from '../rules/moderation-policy.ts';
import type { AuthUser } from './auth.ts';
import { caseSummary, moderatorOf, statementOut, statementSchema } from './cases.ts';
import { MODERATORS, SENIORS, idParams, iso, isoTime, pageOf, paging, uuid, type ApiRouter } from './route.ts';

const isModerator = (u: AuthUser) => (MODERATORS as readonly string[]).includes(u.role);

/** @throws 403 unless the user is a moderator or `ownerId` themself. */
function selfOrModerator(user: AuthUser, ownerId: string): void {
  if (user.userId !== ownerId && !isModerator(user)) throw new WardenError('forbidden', 'you can only see your own records');
}

const reasonBody = { reasonCode: z.string().min(1).max(64), note: z.string().max(2000).nullish() };
const restrictionSchema = z.object({ kind: z.string(), until: z.string().nullable(), reason: z.string() }).nullable();
const userSchema = z.object({ id: z.string(), handle: z.string(), email: z.string().nullable(), role: z.enum(roles), createdAt: isoTime, strikePoints: z.int(), restriction: restrictionSchema });
const appealSchema = z.object({ id: z.string(), user: z.object({ id: z.string(), handle: z.string() }), statementId: z.string(), body: z.string(), status: z.string(), caseId: z.string().nullable(), decidedAt: isoTime.nullable(), decisionNote: z.string().nullable(), createdAt: isoTime });

/** Per-user limit on reports (a flood of reports is itself abuse): `max` in `windowS` seconds. */
async function reportAllowance(redis: Redis, prefix: string, userId: string, max = 20, windowS = 3600): Promise<void> {
  const key = `${prefix}:reports:${userId}`;
  const n = await redis.incr(key);
  if (n === 1) await redis.expire(key, windowS);
  if (n > max) throw new WardenError('rate_limited', `at most ${max} reports an hour; moderators are working through yours`);
}

/** Declares the people routes. */
export function peopleRoutes(router: ApiRouter, deps: { db: Db; redis: Redis; prefix: string; review: ReviewService; intake: Intake }): void {
  const { db, review, intake } = deps;

  router.add({
    method: 'get', path: '/users', tag: 'users', access: MODERATORS, summary: 'Users by handle or e-mail, with strike points and restriction',
    query: z.strictObject({ q: z.string().max(100).optional(), role: z.enum(roles).optional(), ...paging }), response: pageOf(userSchema),
  }, async ({ c, query }) => {
    const { rows, total } = await listUsers(db, query);
    return c.json({ total, data: rows.map((u) => ({ ...u, createdAt: u.createdAt.toISOString(), restriction: u.restriction && { ...u.restriction, until: u.restriction.until && new Date(u.restriction.until).toISOString() } })) });
  });

  router.add({
    method: 'get', path: '/users/:id', tag: 'users', access: 'signed-in', params: idParams,
    summary: 'A user\'s standing and history: strikes, bans, actions, statements, cases (moderators, or the user themself)',
  }, async ({ c, params, user }) => {
    selfOrModerator(user, params.id);
    const u = await getUser(db, params.id);
    if (!u) throw new WardenError('not_found', 'no such user');
    const mod = isModerator(user);
    const [standing, actions, statements, cases] = await Promise.all([
      userStanding(db, u.id),
      listAudit(db, { userId: u.id, page: 1, perPage: 50 }),
      userStatements(db, u.id),
      mod ? listCases(db, { userId: u.id, status: undefined, queues: review.queuesOf(moderatorOf(user)), page: 1, perPage: 50 }) : null,
    ]);
    return c.json({
      user: { id: u.id, handle: u.handle, email: mod || user.userId === u.id ? u.email : null, role: u.role, permissions: u.permissions, disabledAt: iso(u.disabledAt), createdAt: u.createdAt.toISOString() },
      strikePoints: standing.strikePoints, strikes: standing.strikes, bans: standing.bans,
      // a user sees what was done about them, not the moderators' internal trail
      actions: mod ? actions.data : [], statements: statements.map(statementOut), cases: cases ? cases.rows.map(caseSummary) : [],
    });
  });

  router.add({
    method: 'post', path: '/users/:id/ban', tag: 'users', access: MODERATORS, params: idParams, body: z.strictObject(reasonBody),
    summary: 'Bans the user platform-wide now (live stream ended, chat blocked), as a decided case with a statement of reasons',
    response: z.object({ caseId: z.string(), statementId: z.string().nullable() }),
  }, async ({ c, params, body, user }) => {
    const manual = await intake.manualCase({ subjectType: 'user', subjectId: params.id, reasonCode: body.reasonCode });
    const r = await review.decide(moderatorOf(user), manual, { action: 'ban', reasonCode: body.reasonCode, note: body.note });
    return c.json({ caseId: r.caseId, statementId: r.statementId });
  });

  router.add({
    method: 'post', path: '/users/:id/suspend', tag: 'users', access: MODERATORS, params: idParams,
    body: z.strictObject({ ...reasonBody, hours: z.number().positive().max(24 * 365) }),
    summary: 'Suspends the user for some hours, as a decided case with a statement of reasons',
    response: z.object({ caseId: z.string(), statementId: z.string().nullable() }),
  }, async ({ c, params, body, user }) => {
    const manual = await intake.manualCase({ subjectType: 'user', subjectId: params.id, reasonCode: body.reasonCode });
    const r = await review.decide(moderatorOf(user), manual, { action: 'suspend', reasonCode: body.reasonCode, note: body.note, durationHours: body.hours });
    return c.json({ caseId: r.caseId, statementId: r.statementId });
  });

  router.add({
    method: 'post', path: '/users/:id/lift', tag: 'users', access: SENIORS, params: idParams, body: z.strictObject({ note: z.string().trim().min(1, 'say why').max(2000) }),
    summary: 'Lifts the user\'s active bans and suspensions (senior moderators)', response: z.object({ lifted: z.int() }),
  }, async ({ c, params, body, user }) => c.json({ lifted: await review.lift(moderatorOf(user), params.id, body.note) }));

  router.add({
    method: 'get', path: '/statements', tag: 'statements', access: 'signed-in', query: z.strictObject({ userId: uuid.optional() }),
    summary: 'Statements of reasons about you (moderators: about `userId`)', response: z.array(statementSchema),
  }, async ({ c, query, user }) => {
    const target = query.userId ?? user.userId;
    selfOrModerator(user, target);
    return c.json((await userStatements(db, target)).map(statementOut));
  });

  router.add({
    method: 'get', path: '/statements/:id', tag: 'statements', access: 'signed-in', params: idParams, response: statementSchema,
    summary: 'One statement of reasons (its user, or moderators)',
  }, async ({ c, params, user }) => {
    const s = await getStatement(db, params.id);
    if (!s || (s.userId !== user.userId && !isModerator(user))) throw new WardenError('not_found', 'no such statement of reasons for you');
    return c.json(statementOut(s));
  });

  router.add({
    method: 'get', path: '/notifications', tag: 'statements', access: 'signed-in', summary: 'Your notifications: statements, report outcomes, appeal outcomes',
    response: z.array(z.object({ id: z.string(), kind: z.string(), title: z.string(), body: z.record(z.string(), z.unknown()), readAt: isoTime.nullable(), createdAt: isoTime })),
  }, async ({ c, user }) => c.json((await userNotifications(db, user.userId)).map((n) => ({ id: n.id, kind: n.kind, title: n.title, body: n.body as Record<string, unknown>, readAt: iso(n.readAt), createdAt: n.createdAt.toISOString() }))));

  router.add({
    method: 'post', path: '/reports', tag: 'reports', access: 'signed-in', status: 201,
    body: z.strictObject({ subjectType: z.enum(['broadcast', 'message', 'user']), subjectId: z.string().max(100), category: z.string().min(1).max(64), note: z.string().max(1000).nullish() }),
    summary: 'Reports a broadcast, a chat message or a user. Reports on one subject join one case; more reporters raise its priority',
    response: z.object({ id: z.string(), caseId: z.string() }),
  }, async ({ c, body, user }) => {
    await reportAllowance(deps.redis, deps.prefix, user.userId);
    const r = await intake.fileReport(user.userId, body);
    return c.json({ id: r.id, caseId: r.caseId }, 201);
  });

  router.add({
    method: 'get', path: '/reports/mine', tag: 'reports', access: 'signed-in', summary: 'Your reports and what came of them',
    response: z.array(z.object({ id: z.string(), subjectType: z.string(), subjectId: z.string(), category: z.string(), outcome: z.string().nullable(), createdAt: isoTime })),
  }, async ({ c, user }) => c.json((await userReports(db, user.userId)).map((r) => ({ id: r.id, subjectType: r.subjectType, subjectId: r.subjectId, category: r.category, outcome: r.outcome, createdAt: r.createdAt.toISOString() }))));

  router.add({
    method: 'post', path: '/appeals', tag: 'appeals', access: 'signed-in', status: 201,
    body: z.strictObject({ statementId: uuid, body: z.string().trim().min(10, 'tell us why, in at least 10 characters').max(5000) }),
    summary: 'Appeals a decision (by the user it concerns, within the appeal window); a senior moderator who did not decide it reviews it',
    response: z.object({ id: z.string(), caseId: z.string() }),
  }, async ({ c, body, user }) => c.json(await intake.fileAppeal(user.userId, body), 201));

  router.add({
    method: 'get', path: '/appeals', tag: 'appeals', access: SENIORS, summary: 'Appeals, newest first',
    query: z.strictObject({ status: z.enum(['open', 'upheld', 'overturned']).optional(), ...paging }), response: pageOf(appealSchema),
  }, async ({ c, query }) => {
    const { rows, total } = await listAppeals(db, query);
    return c.json({ total, data: rows.map(({ appeal: a, handle }) => ({ id: a.id, user: { id: a.userId, handle }, statementId: a.statementId, body: a.body, status: a.status, caseId: a.caseId, decidedAt: iso(a.decidedAt), decisionNote: a.decisionNote, createdAt: a.createdAt.toISOString() })) });
  });

  router.add({
    method: 'get', path: '/appeals/:id', tag: 'appeals', access: 'signed-in', params: idParams, summary: 'One appeal (its author, or senior moderators)',
    response: z.object({ id: z.string(), statementId: z.string(), body: z.string(), status: z.string(), caseId: z.string().nullable(), decidedAt: isoTime.nullable(), decisionNote: z.string().nullable(), createdAt: isoTime }),
  }, async ({ c, params, user }) => {
    const a = await getAppeal(db, params.id);
    if (!a || (a.userId !== user.userId && !isSenior(user.role))) throw new WardenError('not_found', 'no such appeal for you');
    return c.json({ id: a.id, statementId: a.statementId, body: a.body, status: a.status, caseId: a.caseId, decidedAt: iso(a.decidedAt), decisionNote: a.decisionNote, createdAt: a.createdAt.toISOString() });
  });
}

/**
 * Declares `GET /report-categories` (any signed-in user): the policy's reason codes a viewer may report under
 * (moderation/outcomes.ts `isReportCategory`: not `no_violation`, not the verification decisions), in the policy's
 * order, with the label and description to show. `POST /api/reports` takes the `code` as its `category`.
 */
export function reportCategoryRoutes(router: ApiRouter, deps: { policy: () => { moderation: ModerationPolicy } }): void {
  router.add({
    method: 'get', path: '/report-categories', tag: 'reports', access: 'signed-in',
    summary: 'The categories a report may be filed under (reason codes of the policy in force), with their labels',
    response: z.array(z.object({ code: z.string(), label: z.string(), description: z.string() })),
  }, async ({ c }) => c.json(deps.policy().moderation.reasonCodes.filter((r) => isReportCategory(r.code))
    .map((r) => ({ code: r.code, label: r.label, description: r.description }))));
}
