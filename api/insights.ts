/**
 * Oversight: the audit log (filterable, paged; senior moderators and admins) and its chain check (admins), the
 * dashboard's figures, live queue events as server-sent events (Postgres LISTEN on `warden_cases`, which a
 * trigger on `cases` notifies; one listening connection per API process, fanned out to every console), and
 * the OpenAPI document of every declared route.
 */
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Logger } from '../core/logger.ts';
import { listAudit, reviewStats, verifyAuditChain, type Database } from '../db/index.ts';
import { mayAccessQueue, type ReviewService } from '../moderation/index.ts';
import type { ModerationPolicy } from '../rules/moderation-policy.ts';
import { moderatorOf } from './cases.ts';
import { openApiDocument } from './openapi.ts';
import { ADMINS, MODERATORS, SENIORS, isoTime, pageOf, paging, type ApiRouter } from './route.ts';

/** A change to a case, as the `cases_notify` trigger announces it. */
export interface CaseEvent { id: string; op: 'insert' | 'update'; status: string; priority: string; queue: string; reason: string; claimedBy: string | null }

/** Fans out Postgres notifications about cases to subscribers (SSE streams). */
export class CaseEventHub {
  private readonly subscribers = new Set<(e: CaseEvent) => void>();
  private unlisten: (() => Promise<void>) | null = null;
  private starting: Promise<void> | null = null;
  constructor(private readonly database: Database, private readonly logger: Logger) {}

  /** Starts listening (one dedicated connection); called by the first subscriber. */
  start(): Promise<void> {
    this.starting ??= this.database.sql.listen('warden_cases', (payload) => {
      let e: CaseEvent;
      try { e = JSON.parse(payload) as CaseEvent; } catch { return; }
      for (const s of this.subscribers) s(e);
    }).then((sub) => { this.unlisten = () => sub.unlisten(); });
    return this.starting;
  }

  /** Calls `fn` on every case change from now on. @returns the unsubscribe function. */
  async subscribe(fn: (e: CaseEvent) => void): Promise<() => void> {
    await this.start();
    this.subscribers.add(fn);
    return () => { this.subscribers.delete(fn); };
  }

  get size(): number {
    return this.subscribers.size;
  }

  async stop(): Promise<void> {
    this.subscribers.clear();
    await this.unlisten?.().catch((err: Error) => this.logger.warn({ err: err.message }, 'unlisten failed'));
  }
}

const auditQuery = z.strictObject({
  action: z.string().max(64).optional(), actorId: z.string().max(100).optional(), subjectId: z.string().max(100).optional(),
  userId: z.uuid().optional(), caseId: z.uuid().optional(),
  since: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(), until: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(),
  ...paging,
});

const auditEntry = z.object({
  id: z.number(), seq: z.number().nullable(), action: z.string(), actorType: z.string(), actorId: z.string(), actorHandle: z.string().nullable(),
  subjectType: z.string(), subjectId: z.string(), caseId: z.string().nullable(), ruleId: z.string().nullable(), policyVersion: z.string().nullable(),
  shadow: z.boolean(), details: z.unknown(), createdAt: isoTime, hash: z.string().nullable(), prevHash: z.string().nullable(),
});

/** Declares the oversight routes. */
export function insightRoutes(router: ApiRouter, deps: { database: Database; review: ReviewService; events: CaseEventHub; policy: () => { moderation: ModerationPolicy } }): void {
  const { database, review } = deps;

  router.add({
    method: 'get', path: '/audit', tag: 'audit', access: SENIORS, query: auditQuery, response: pageOf(auditEntry),
    summary: 'The audit log, newest first, filtered by action, actor, subject, user, case and time',
  }, async ({ c, query }) => c.json(await listAudit(database.db, query)));

  router.add({
    method: 'get', path: '/audit/verify', tag: 'audit', access: ADMINS, summary: 'Checks the audit log\'s hash chain end to end',
  }, async ({ c }) => c.json(await verifyAuditChain(database.db)));

  router.add({
    method: 'get', path: '/stats', tag: 'queue', access: MODERATORS, summary: 'Dashboard figures for your queues over the last 24 hours',
  }, async ({ c, user }) => c.json(await reviewStats(database.db, review.queuesOf(moderatorOf(user)))));

  router.add({
    method: 'get', path: '/events', tag: 'queue', access: MODERATORS, produces: 'text/event-stream',
    summary: 'Server-sent events: `case` on every change to a case in your queues, `ping` every 25 s',
  }, ({ c, user }) => {
    const m = moderatorOf(user);
    return streamSSE(c, async (stream) => {
      let closed = false;
      const queue: CaseEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = await deps.events.subscribe((e) => {
        if (!mayAccessQueue(deps.policy().moderation, m, e.queue)) return;
        queue.push(e);
        wake?.();
      });
      stream.onAbort(() => { closed = true; wake?.(); });
      await stream.writeSSE({ event: 'ready', data: JSON.stringify({ queues: review.queuesOf(m) }) });
      try {
        while (!closed) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 25_000).unref();
          });
          wake = null;
          if (closed) break;
          if (queue.length === 0) await stream.writeSSE({ event: 'ping', data: String(Date.now()) });
          for (const e of queue.splice(0)) await stream.writeSSE({ event: 'case', data: JSON.stringify(e), id: `${e.id}:${e.status}` });
        }
      } finally {
        unsubscribe();
      }
    });
  });

  router.add({
    method: 'get', path: '/openapi.json', tag: 'meta', access: 'public', summary: 'This API\'s OpenAPI 3.1 document',
  }, ({ c }) => c.json(openApiDocument(router.specs)));
}
