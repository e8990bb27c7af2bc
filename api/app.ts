/**
 * The HTTP API (hono): operations endpoints, the moderation API the review console uses (declared routes with
 * role checks and zod validation, documented at /api/openapi.json), a performer's room settings, the media
 * behind cases and broadcasts, and the console itself at /console.
 */
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Context, MiddlewareHandler } from 'hono';
import { roomRoutes } from './rooms.ts';
import { mediaRoutes } from './media.ts';
import { SessionCache, authenticate, authenticateCached, type AuthEnv } from './auth.ts';
import { ApiRouter } from './route.ts';
import { caseRoutes } from './cases.ts';
import { broadcastRoutes } from './broadcasts.ts';
import { playRoutes } from './broadcasts.ts';
import { viewerRoutes } from './viewer.ts';
import { peopleRoutes } from './people.ts';
import { reportCategoryRoutes } from './people.ts';
import { CaseEventHub, insightRoutes } from './insights.ts';
import { WATCH_CSP, consoleRoutes, spaRoutes } from './console.ts';
import { authRoutes } from './auth-routes.ts';
import { accountRoutes } from './account-routes.ts';
import { AlertHub, alertRoutes } from './alerts.ts';
import { keyRoutes } from './keys.ts';
import { ingestHookRoutes } from './ingest-hooks.ts';
import { studioRoutes } from './studio.ts';
import { createVerificationService, exceptUpload, uploadBodyLimit, verificationRoutes, VERIFICATION_UPLOAD_PATH } from './verification.ts';
import { WardenError, errorText, isDatabaseUnavailable } from '../core/errors.ts';
import type { AppContext } from '../core/context.ts';
import { AlertService, Intake, ReviewService, StreamKeyService } from '../moderation/index.ts';
import type { QueueHealth, WorkerWatchdog } from '../analyzer/workers.ts';
import { RoomModeration } from '../moderation/index.ts';

export interface ApiDeps {
  ctx: Pick<AppContext, 'database' | 'redis' | 'metrics' | 'logger' | 'config' | 'policy'>;
  /** Told when a performer changes their room's terms or slow mode (the chat gateway drops its cache). */
  onRoomChange?: (ownerId: string) => void;
  /** Live case events (one per process; built here when not given, and started by the first console). */
  events?: CaseEventHub;
  /** The built review console (default review-console/dist). */
  consoleDir?: string;
  /** The built studio and watch page (default web/studio/dist, web/watch/dist). */
  webDirs?: { studio: string; watch: string };
  /** Panic alerts and their fan-out (built here when not given; the runtime starts the escalation loop). */
  alerts?: AlertService;
  alertHub?: AlertHub;
  /** This process's workers, judged by their progress (`/readyz` is 503 while jobs wait and a worker makes none). */
  workers?: Pick<WorkerWatchdog, 'health'>;
}

/** The alert service of a context (its escalation loop is started by whoever runs it). */
export function createAlertService(ctx: Pick<AppContext, 'database' | 'redis' | 'logger' | 'config'>): AlertService {
  const c = ctx.config;
  return new AlertService({
    db: ctx.database.db, redis: ctx.redis, prefix: c.redisPrefix, logger: ctx.logger.child({ subsystem: 'alerts' }), ackMs: c.alerts.ackMs,
    maxEscalations: c.alerts.maxEscalations, escalationUrl: c.alerts.escalationUrl, webhookSecret: c.webhooks.secret, slaMinutes: c.review.slaMinutes,
  });
}

/** Where `npm run build:console` puts the console. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../review-console/dist', import.meta.url));
/** Where it puts the performer studio and the viewer watch page. */
export const DEFAULT_WEB_DIRS = {
  studio: fileURLToPath(new URL('../web/studio/dist', import.meta.url)),
  watch: fileURLToPath(new URL('../web/watch/dist', import.meta.url)),
};

/**
 * Builds the hono app; `specs` are the moderation API's declared routes (OpenAPI, role-matrix test).
 * Errors are `{ error: { code, message } }` with the code's status.
 */
export function createApi({ ctx, onRoomChange, events, consoleDir, webDirs, alerts, alertHub, workers }: ApiDeps): Hono & { specs: ApiRouter['specs'] } {
  const app = new Hono();
  const onError = errorHandler(ctx.logger);
  // state-changing requests must come from our own origin (Origin header check) and stay small
  // (the verification upload alone has its own, larger limit)
  app.use('/api/*', sameOrigin(), exceptUpload(bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json({ error: { code: 'payload_too_large', message: 'the body is larger than 64 KiB' } }, 413) })));
  app.use(VERIFICATION_UPLOAD_PATH, uploadBodyLimit(ctx.config.verification.maxBytes));
  app.use('/api/*', async (c, next) => {
    await next();
    c.header('cache-control', c.res.headers.get('cache-control') ?? 'no-store');
    c.header('x-content-type-options', 'nosniff');
  });
  app.route('/api', mediaRoutes(ctx.database.db, ctx.config.dataDir, ctx.logger).onError(onError));
  // the publish gate for a media server in front (nginx-rtmp on_publish, MediaMTX external auth): shared secret, no session
  app.route('/', ingestHookRoutes(ctx).onError(onError));

  const { db } = ctx.database;
  const policy = ctx.policy;
  const review = new ReviewService({ db, redis: ctx.redis, prefix: ctx.config.redisPrefix, logger: ctx.logger.child({ subsystem: 'review' }), policy, review: ctx.config.review, verificationValidMs: ctx.config.verification.validMs });
  const intake = new Intake({ db, policy, review: ctx.config.review });
  const hub = events ?? new CaseEventHub(ctx.database, ctx.logger);
  const api = new Hono<AuthEnv>();
  const sessions = new SessionCache(ctx.redis, ctx.config.redisPrefix, ctx.config.auth.sessionIdleMs);
  const idleMs = ctx.config.auth.sessionIdleMs;
  const router = new ApiRouter(api, authenticate(db, { idleMs, cache: sessions }), authenticateCached(db, sessions, { idleMs }));
  const authDeps = { db, redis: ctx.redis, prefix: ctx.config.redisPrefix, auth: ctx.config.auth, sessions, config: ctx.config };
  authRoutes(router, authDeps);
  accountRoutes(router, authDeps);
  caseRoutes(router, { db, review, policy, undoMs: ctx.config.review.undoMs });
  broadcastRoutes(router, { db, redis: ctx.redis, prefix: ctx.config.redisPrefix, dataDir: ctx.config.dataDir, review, intake, logger: ctx.logger });
  playRoutes(router, { db, redis: ctx.redis, prefix: ctx.config.redisPrefix, logger: ctx.logger, nodeId: ctx.config.nodeId });
  viewerRoutes(router, { db });
  peopleRoutes(router, { db, redis: ctx.redis, prefix: ctx.config.redisPrefix, review, intake });
  reportCategoryRoutes(router, { policy });
  insightRoutes(router, { database: ctx.database, review, events: hub, policy });
  keyRoutes(router, { db, keys: new StreamKeyService({ db, redis: ctx.redis, prefix: ctx.config.redisPrefix }) });
  verificationRoutes(router, { verification: createVerificationService(ctx) });
  const alertService = alerts ?? createAlertService(ctx);
  alertRoutes(router, { db, alerts: alertService, hub: alertHub ?? new AlertHub(ctx.redis, alertService.channel, ctx.logger), logger: ctx.logger, redis: ctx.redis, prefix: ctx.config.redisPrefix });
  roomRoutes(router, { db, rooms: new RoomModeration({ db, redis: ctx.redis, prefix: ctx.config.redisPrefix, logger: ctx.logger.child({ subsystem: 'rooms' }) }), onChange: onRoomChange });
  studioRoutes(router, { db, redis: ctx.redis, config: ctx.config });
  api.onError(onError);
  app.route('/api', api);

  app.route('/', consoleRoutes(consoleDir ?? DEFAULT_CONSOLE_DIR));
  app.route('/', spaRoutes('/studio', webDirs?.studio ?? DEFAULT_WEB_DIRS.studio, 'studio'));
  app.route('/', spaRoutes('/watch', webDirs?.watch ?? DEFAULT_WEB_DIRS.watch, 'watch page', WATCH_CSP));
  app.get('/', (c) => c.redirect('/watch/'));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  /**
   * Readiness: Postgres and Redis answer (2 s each), and, in a process running workers, every queue it consumes
   * progresses: jobs waiting longer than WORKER_STUCK_S while its workers made no progress (no job started, completed
   * or failed) is not ready, however healthy the connections look (a BullMQ worker can sit idle after a Redis outage).
   * 200 `{ status: 'ready', checks }` or 503 `{ status: 'unavailable', checks }`; `checks.workers.queues` has each
   * queue's waiting jobs and seconds since progress.
   */
  app.get('/readyz', async (c) => {
    const within2s = <T,>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timed out after 2 s')), 2000).unref())]);
    const check = async (fn: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> => {
      try {
        await within2s(fn());
        return { ok: true };
      } catch (err) {
        return { ok: false, error: errorText(err) };
      }
    };
    const progress = async (): Promise<{ ok: boolean; error?: string; queues?: Record<string, QueueHealth> }> => {
      try {
        const queues = await within2s(workers!.health());
        const stuck = Object.entries(queues).filter(([, h]) => !h.ok)
          .map(([q, h]) => h.error ? `${q}: ${h.error}` : `${q}: ${h.waiting} jobs waiting ${h.waitingS} s, no progress for ${h.sinceProgressS} s`);
        return stuck.length ? { ok: false, error: stuck.join('; '), queues } : { ok: true, queues };
      } catch (err) {
        return { ok: false, error: errorText(err) };
      }
    };
    const [postgres, redis, progressed] = await Promise.all([
      check(() => ctx.database.sql`select 1`), check(() => ctx.redis.ping()), workers ? progress() : undefined,
    ]);
    const checks = { postgres, redis, ...(progressed ? { workers: progressed } : {}) };
    const ready = Object.values(checks).every((v) => v.ok);
    return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const body = await ctx.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': ctx.metrics.registry.contentType });
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError(onError);
  return Object.assign(app, { specs: router.specs });
}

/** What the API answers (503 `unavailable`) while PostgreSQL cannot be reached. */
export const DATABASE_UNAVAILABLE = 'the database is unavailable; try again shortly';

/**
 * Renders errors as `{ error: { code, message } }`: a WardenError with its status; PostgreSQL unreachable
 * ({@link isDatabaseUnavailable}) as 503 `unavailable` with `retry-after: 5`; anything else as 500.
 */
export function errorHandler(logger: AppContext['logger']) {
  return (err: Error, c: Context) => {
    if (err instanceof WardenError) {
      if (err.code === 'rate_limited' && 'retryAfterS' in err) c.header('retry-after', String((err as WardenError & { retryAfterS: number }).retryAfterS));
      return c.json({ error: { code: err.code, message: err.message } }, err.status as 400);
    }
    if (isDatabaseUnavailable(err)) {
      // Postgres went away (restart, failover, network): a clear, retryable answer rather than a 500
      logger.warn({ err: errorText(err), cause: err.cause === undefined ? undefined : errorText(err.cause), path: c.req.path }, 'database unavailable');
      c.header('retry-after', '5');
      return c.json({ error: { code: 'unavailable', message: DATABASE_UNAVAILABLE } }, 503);
    }
    logger.error({ err: errorText(err), path: c.req.path }, 'unhandled API error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  };
}

/**
 * CSRF protection for cookie-authenticated routes: a state-changing request whose Origin (or Fetch Metadata)
 * says it comes from another site is refused. Bodies must also be JSON (415 otherwise), which a cross-site
 * form cannot send without a CORS preflight that Warden never grants. (The session's CSRF token is checked on
 * top of this by `authenticate`.)
 */
function sameOrigin(): MiddlewareHandler {
  return async function checkSameOrigin(c, next) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.method !== 'OPTIONS') {
      const origin = c.req.header('origin');
      const site = c.req.header('sec-fetch-site');
      if ((origin && origin !== new URL(c.req.url).origin) || site === 'cross-site') {
        return c.json({ error: { code: 'forbidden', message: 'cross-site request refused' } }, 403);
      }
    }
    await next();
  };
}
