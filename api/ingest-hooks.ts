/**
 * The publish gate as an HTTP hook, for a production media server in front of Warden (DESIGN.md: "the gate is
 * also an HTTP endpoint in the nginx-rtmp `on_publish` / MediaMTX external-auth style"). The same
 * {@link PublishGate} as the embedded RTMP server decides, and a refusal is written to the audit log the same way
 * (`refuse_publish`, with the reason, the key's first characters and the client's address).
 *
 * `POST /api/ingest/on-publish`, authenticated by the shared secret INGEST_HOOK_SECRET, sent as the query
 * parameter `secret` (nginx-rtmp posts to a fixed URL: `on_publish http://warden:8080/api/ingest/on-publish?secret=…;`)
 * or the header `x-warden-hook-secret`. Two body styles:
 * - nginx-rtmp (`application/x-www-form-urlencoded`): `call=publish`, `app`, `name` (the stream key), `addr`, …
 *   `call=publish_done` and `update_publish` are acknowledged (204); `play` is refused (viewers play from
 *   Warden's ingest nodes behind the play gate, never with a stream key).
 * - MediaMTX external HTTP auth (`application/json`, `authMethod: http`): `{ user, password, ip, action, path,
 *   protocol, id, query }` with `path` = `live/<stream key>`. `action: publish` is gated; `read` / `playback` are
 *   let through only for Warden's own reader (user `warden`, the hook secret as password: a tap pulling the
 *   stream); `api`, `metrics` and `pprof` are refused.
 *
 * Answers: 204 accepted; 403 `{ error: { code: <refusal reason>, message } }` refused (both servers treat any
 * non-2xx as a refusal and drop the publisher); 401 `hook_unauthorized` for a missing or wrong secret; 400 for a
 * body neither style can read; 415 for another content type; 503 `unavailable` while no secret is configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { AppContext } from '../core/context.ts';
import { Enforcer } from '../moderation/index.ts';
import { PublishGate, auditPublishRefusal } from '../ingest/gate.ts';
import { keyPrefix } from '../ingest/stream-keys.ts';
import { RetryWriter } from '../ingest/retry-writer.ts';

/** The hook's path under the API. */
export const ON_PUBLISH_PATH = '/api/ingest/on-publish';

/** A publish or read request, whichever server sent it. */
interface HookCall {
  style: 'nginx-rtmp' | 'mediamtx';
  action: string;
  app: string;
  key: string;
  ip: string;
  user?: string;
  password?: string;
}

/** Compares two secrets in constant time (hashed first, so lengths do not leak). */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

const refusal = (c: Context, status: 400 | 401 | 403 | 415 | 503, code: string, message: string) => c.json({ error: { code, message } }, status);

/** Reads either body style. @returns the call, or a reason it could not be read. */
async function readCall(c: Context): Promise<HookCall | string> {
  const type = c.req.header('content-type')?.toLowerCase() ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const f = new URLSearchParams(await c.req.text());
    const call = f.get('call') ?? 'publish';
    return { style: 'nginx-rtmp', action: call, app: f.get('app') ?? '', key: f.get('name') ?? '', ip: f.get('addr') ?? '' };
  }
  if (type.startsWith('application/json')) {
    let v: unknown;
    try { v = await c.req.json(); } catch { return 'the body is not valid JSON'; }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected a JSON object (MediaMTX external auth)';
    const o = v as Record<string, unknown>;
    const str = (k: string) => (typeof o[k] === 'string' ? o[k] as string : undefined);
    const action = str('action');
    const path = str('path');
    if (!action || path === undefined) return 'action and path are required (MediaMTX external auth)';
    const [app = '', ...rest] = path.replace(/^\/+/, '').split('/');
    return { style: 'mediamtx', action, app, key: rest.join('/'), ip: str('ip') ?? '', user: str('user'), password: str('password') };
  }
  return 'unsupported';
}

/** Hono routes of the hook (mounted on the API app). */
export function ingestHookRoutes(ctx: Pick<AppContext, 'database' | 'redis' | 'logger' | 'config'>): Hono {
  const app = new Hono();
  const gate = new PublishGate(ctx.database.db);
  const enforcer = new Enforcer({ db: ctx.database.db, redis: ctx.redis, prefix: ctx.config.redisPrefix, logger: ctx.logger.child({ subsystem: 'ingest-hook' }) });
  const log = ctx.logger.child({ subsystem: 'ingest-hook' });
  // refusals are audited through a retry writer: one while Postgres is away (the gate fails closed) lands once it is back
  const writer = new RetryWriter({ logger: log });
  const secret = ctx.config.ingestHookSecret;

  app.post(ON_PUBLISH_PATH, async (c) => {
    if (!secret) return refusal(c, 503, 'unavailable', 'the publish-gate hook is off (set INGEST_HOOK_SECRET)');
    const given = c.req.query('secret') ?? c.req.header('x-warden-hook-secret');
    if (!given || !sameSecret(given, secret)) return refusal(c, 401, 'hook_unauthorized', 'missing or wrong hook secret');
    const call = await readCall(c);
    if (call === 'unsupported') return refusal(c, 415, 'unsupported_media_type', 'send nginx-rtmp\'s form (application/x-www-form-urlencoded) or MediaMTX\'s JSON');
    if (typeof call === 'string') return refusal(c, 400, 'bad_request', call);
    if (call.action === 'publish_done' || call.action === 'update_publish') return c.body(null, 204);
    if (call.action === 'read' || call.action === 'playback') {
      // only Warden's own reader (a tap pulling the stream) reads by stream key; viewers play behind the play gate
      if (call.user === 'warden' && call.password !== undefined && sameSecret(call.password, secret)) return c.body(null, 204);
      return refusal(c, 403, 'forbidden', 'viewers play from Warden\'s ingest nodes with a play token, never by stream key');
    }
    if (call.action !== 'publish') return refusal(c, 403, 'forbidden', `${call.style} action "${call.action}" is not allowed through Warden's hook`);
    const prefix = keyPrefix(call.key);
    const refuse = (reason: string, detail: string, userId?: string) => {
      log.warn({ keyPrefix: prefix, reason, userId, ip: call.ip, style: call.style }, 'publish refused (hook)');
      auditPublishRefusal(writer, enforcer, { userId, keyPrefix: prefix, reason, detail, ip: call.ip, app: call.app });
      return refusal(c, 403, reason, detail);
    };
    if (call.app !== 'live') return refuse('unknown_app', `publish to /${call.app} (only /live is served)`);
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(call.key)) return refuse('unknown_key', 'no such stream key');
    const verdict = await gate.check(call.key);
    if (!verdict.accepted) return refuse(verdict.reason, verdict.detail, verdict.userId);
    log.info({ keyPrefix: prefix, userId: verdict.userId, style: call.style }, 'publish accepted (hook)');
    return c.body(null, 204);
  });
  return app;
}
