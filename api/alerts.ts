/**
 * Panic alerts over HTTP: a performer raises one (`POST /api/alerts/panic`, never rate-limited), every online
 * moderator receives it on `GET /api/alerts/stream` (server-sent events fed by Redis pub/sub, so an alert raised
 * on any node reaches consoles on every node), moderators acknowledge and resolve it. The performer follows their
 * own alerts (`GET /api/alerts/mine`, and `GET /api/alerts/mine/stream`: the same events, only theirs), so the
 * studio can show who acknowledged and when it was resolved.
 */
import type { Redis } from 'ioredis';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import type { Context } from 'hono';
import { listAlerts, userAlerts, type Db } from '../db/index.ts';
import { PROTECTIONS, savedPanicProtection, type AlertEvent, type AlertService } from '../moderation/index.ts';
import type { AuthEnv } from './auth.ts';
import { MODERATORS, idParams, iso, isoTime, uuid, type ApiRouter } from './route.ts';

/** Fans out alert events from Redis to this process's SSE streams (one subscriber connection, opened on first use). */
export class AlertHub {
  private readonly subscribers = new Set<(e: AlertEvent) => void>();
  private sub: Redis | null = null;
  private starting: Promise<void> | null = null;
  constructor(private readonly redis: Redis, private readonly channel: string, private readonly logger: Logger) {}

  private start(): Promise<void> {
    this.starting ??= (async () => {
      const sub = this.redis.duplicate({ connectionName: 'warden-alerts-sub' });
      sub.on('message', (_ch, message: string) => {
        let e: AlertEvent;
        try { e = JSON.parse(message) as AlertEvent; } catch { return; }
        for (const s of this.subscribers) s(e);
      });
      sub.on('error', (err) => this.logger.error({ err: errorText(err) }, 'alert subscriber error'));
      await sub.subscribe(this.channel);
      this.sub = sub;
    })();
    return this.starting;
  }

  /** Calls `fn` for every alert event from now on. @returns the unsubscribe function. */
  async subscribe(fn: (e: AlertEvent) => void): Promise<() => void> {
    await this.start();
    this.subscribers.add(fn);
    return () => { this.subscribers.delete(fn); };
  }

  async stop(): Promise<void> {
    this.subscribers.clear();
    this.sub?.disconnect();
  }
}

const alertSchema = z.object({
  id: z.string(), userId: z.string(), handle: z.string(), broadcastId: z.string().nullable(), protection: z.enum(PROTECTIONS),
  message: z.string().nullable(), status: z.enum(['open', 'acknowledged', 'resolved']), raisedAt: isoTime, escalations: z.int(),
  acknowledgedBy: z.object({ id: z.string(), handle: z.string() }).nullable(), resolvedBy: z.object({ id: z.string(), handle: z.string() }).nullable(),
});

/** Declares the alert routes. */
export function alertRoutes(router: ApiRouter, deps: { db: Db; alerts: AlertService; hub: AlertHub; logger: Logger; redis?: Redis; prefix?: string }): void {
  const { db, alerts, hub } = deps;

  router.add({
    method: 'post', path: '/alerts/panic', tag: 'alerts', access: ['performer'], status: 202, auth: 'cached',
    body: z.strictObject({
      broadcastId: uuid.nullish(), message: z.string().max(500).nullish(),
      protection: z.enum(PROTECTIONS).optional().describe('default: the protection saved for your room (PUT /api/rooms/me/settings), else none'),
    }),
    summary: 'A performer\'s panic button: every online moderator is alerted at once; the chosen protection applies (`freeze_chat`; `hide_stream`: no plays and current viewers disconnected, staff still watch; `end_broadcast`) until resolved; escalates if nobody acknowledges',
    response: z.object({ alert: alertSchema, stored: z.boolean() }),
  }, async ({ c, body, user }) => {
    // the performer's live broadcast from Redis (Postgres only briefly, if Redis does not know): the alert goes out regardless
    // and, when the press names no protection, the room's saved one from its Redis mirror (never Postgres), in parallel
    const [broadcastId, saved] = await Promise.all([
      alerts.liveBroadcastOf(user.userId, body.broadcastId),
      body.protection || !deps.redis ? null : savedPanicProtection(deps.redis, deps.prefix ?? '', user.userId),
    ]);
    const protection = body.protection ?? saved ?? 'none';
    const r = await alerts.raise({ userId: user.userId, handle: user.handle }, { broadcastId, protection, message: body.message });
    return c.json(r, 202);
  });

  router.add({
    method: 'get', path: '/alerts', tag: 'alerts', access: MODERATORS, summary: 'Recent alerts, newest first',
    query: z.strictObject({ status: z.enum(['open', 'acknowledged', 'resolved', 'unresolved']).optional() }),
  }, async ({ c, query }) => c.json((await listAlerts(db, { status: query.status })).map(({ alert: a, handle }) => ({
    id: a.id, userId: a.userId, handle, broadcastId: a.broadcastId, protection: a.protection, message: a.message, status: a.status,
    raisedAt: a.raisedAt.toISOString(), escalations: a.escalations, caseId: a.caseId, acknowledgedAt: iso(a.acknowledgedAt), resolvedAt: iso(a.resolvedAt), resolution: a.resolution,
  }))));

  router.add({
    method: 'get', path: '/alerts/stream', tag: 'alerts', access: MODERATORS, produces: 'text/event-stream',
    summary: 'Server-sent events: `alert` for every raised, escalated, acknowledged or resolved alert (data: { type, alert, at }), `ping` every 15 s',
  }, ({ c }) => streamAlerts(c, hub, () => true));

  router.add({
    method: 'post', path: '/alerts/:id/ack', tag: 'alerts', access: MODERATORS, params: idParams, response: alertSchema,
    summary: 'Acknowledges an alert (escalation stops); audited',
  }, async ({ c, params, user }) => c.json(await alerts.acknowledge({ userId: user.userId, handle: user.handle }, params.id)));

  router.add({
    method: 'post', path: '/alerts/:id/resolve', tag: 'alerts', access: MODERATORS, params: idParams,
    body: z.strictObject({ resolution: z.string().trim().min(1, 'say what was done').max(2000) }), response: alertSchema,
    summary: 'Resolves an alert with what was done (chat unfrozen, stream shown again); audited',
  }, async ({ c, params, body, user }) => c.json(await alerts.resolve({ userId: user.userId, handle: user.handle }, params.id, body.resolution)));

  // ---- the performer's own alerts ----

  router.add({
    method: 'get', path: '/alerts/mine', tag: 'alerts', access: ['performer'], summary: 'Your panic alerts, newest first, with who acknowledged and resolved each',
    response: z.array(z.object({
      id: z.string(), broadcastId: z.string().nullable(), status: z.enum(['open', 'acknowledged', 'resolved']), protection: z.string(), message: z.string().nullable(),
      raisedAt: isoTime, escalations: z.int(), acknowledgedAt: isoTime.nullable(), resolvedAt: isoTime.nullable(),
      acknowledgedBy: z.object({ id: z.string(), handle: z.string() }).nullable(), resolvedBy: z.object({ id: z.string(), handle: z.string() }).nullable(),
    })),
  }, async ({ c, user }) => c.json((await userAlerts(db, user.userId)).map((a) => ({
    id: a.id, broadcastId: a.broadcastId, status: a.status, protection: a.protection, message: a.message, raisedAt: a.raisedAt.toISOString(), escalations: a.escalations,
    acknowledgedAt: iso(a.acknowledgedAt), resolvedAt: iso(a.resolvedAt),
    acknowledgedBy: a.acknowledgedBy ? { id: a.acknowledgedBy, handle: a.acknowledgedByHandle ?? '' } : null,
    resolvedBy: a.resolvedBy ? { id: a.resolvedBy, handle: a.resolvedByHandle ?? '' } : null,
  }))));

  router.add({
    method: 'get', path: '/alerts/mine/stream', tag: 'alerts', access: ['performer'], produces: 'text/event-stream',
    summary: 'Server-sent events of your own alerts only: `alert` when one of yours is raised, escalated, acknowledged (with the moderator\'s handle) or resolved (data: { type, alert, at }), `ping` every 15 s',
  }, ({ c, user }) => streamAlerts(c, hub, (e) => e.alert.userId === user.userId));
}

/**
 * Streams alert events as server-sent events (`ready` first, `alert` per event that passes `filter`, `ping`
 * every 15 s of quiet) until the client goes away.
 */
function streamAlerts(c: Context<AuthEnv>, hub: AlertHub, filter: (e: AlertEvent) => boolean): Response {
  return streamSSE(c, async (stream) => {
    let closed = false;
    const queue: AlertEvent[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = await hub.subscribe((e) => { if (filter(e)) { queue.push(e); wake?.(); } });
    stream.onAbort(() => { closed = true; wake?.(); });
    try {
      await stream.writeSSE({ event: 'ready', data: String(Date.now()) });
      while (!closed) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 15_000).unref(); });
          wake = null;
          if (closed) break;
          if (queue.length === 0) await stream.writeSSE({ event: 'ping', data: String(Date.now()) });
        }
        for (const e of queue.splice(0)) await stream.writeSSE({ event: 'alert', data: JSON.stringify(e), id: `${e.alert.id}:${e.type}:${e.alert.escalations}` });
      }
    } finally {
      unsubscribe();
    }
  });
}
