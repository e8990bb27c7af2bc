/**
 * The HTTP API (hono): operations endpoints, a performer's room settings, and the media behind cases and
 * broadcasts (evidence audio for moderators, captions for viewers). The console's API comes with its issue.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Context, MiddlewareHandler } from 'hono';
import { roomRoutes } from './rooms.ts';
import { mediaRoutes } from './media.ts';
import { WardenError, errorText } from '../core/errors.ts';
import type { AppContext } from '../core/context.ts';

export interface ApiDeps {
  ctx: Pick<AppContext, 'database' | 'redis' | 'metrics' | 'logger' | 'config'>;
  /** Told when a performer changes their room's terms or slow mode (the chat gateway drops its cache). */
  onRoomChange?: (ownerId: string) => void;
}

/** Builds the hono app. Errors are `{ error: { code, message } }` with the code's status. */
export function createApi({ ctx, onRoomChange }: ApiDeps): Hono {
  const app = new Hono();
  // state-changing requests must come from our own origin (Origin header check) and stay small
  app.use('/api/*', sameOrigin(), bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json({ error: { code: 'payload_too_large', message: 'the body is larger than 64 KiB' } }, 413) }));
  app.route('/api/rooms', roomRoutes(ctx.database.db, onRoomChange).onError(errorHandler(ctx.logger)));
  app.route('/api', mediaRoutes(ctx.database.db, ctx.config.dataDir, ctx.logger).onError(errorHandler(ctx.logger)));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const check = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await Promise.race([fn(), new Promise((_, rej) => setTimeout(() => rej(new Error('timed out after 2 s')), 2000).unref())]);
        return [name, { ok: true }] as const;
      } catch (err) {
        return [name, { ok: false, error: errorText(err) }] as const;
      }
    };
    const checks: Record<string, { ok: boolean; error?: string }> = Object.fromEntries(await Promise.all([
      check('postgres', () => ctx.database.sql`select 1`),
      check('redis', () => ctx.redis.ping()),
    ]));
    const ready = Object.values(checks).every((v) => v.ok);
    return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const body = await ctx.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': ctx.metrics.registry.contentType });
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError(errorHandler(ctx.logger));
  return app;
}

/** Renders errors as `{ error: { code, message } }`: a WardenError with its status, anything else as 500. */
export function errorHandler(logger: AppContext['logger']) {
  return (err: Error, c: Context) => {
    if (err instanceof WardenError) return c.json({ error: { code: err.code, message: err.message } }, err.status as 400);
    logger.error({ err: errorText(err), path: c.req.path }, 'unhandled API error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  };
}

/**
 * CSRF protection for cookie-authenticated routes: a state-changing request whose Origin (or Fetch Metadata)
 * says it comes from another site is refused. Bodies must also be JSON (415 otherwise), which a cross-site
 * form cannot send without a CORS preflight that Warden never grants.
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
