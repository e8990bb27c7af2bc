/**
 * A performer's own room moderation: their blocked-terms list (each term with its verdict) and slow mode.
 * A room can tighten the platform policy, never loosen it, so the verdicts offered are flag, hold and block.
 * Routes act on the signed-in performer's own room only.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { deleteRoomTerm, listRoomTerms, roomConfig, setSlowMode, upsertRoomTerm, type Db } from '../db/index.ts';
import { authenticate, requireRole, type AuthEnv } from './auth.ts';

const termBody = z.strictObject({
  term: z.string().trim().min(1, 'term is empty').max(100, 'a term is at most 100 characters'),
  action: z.enum(['flag', 'hold', 'block']),
});
const slowModeBody = z.strictObject({ seconds: z.int().min(0).max(3600) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Parses a JSON body with a zod schema. @throws 400 naming the problem (or 415 when not JSON). */
export async function jsonBody<T>(req: { header(name: string): string | undefined; json(): Promise<unknown> }, schema: z.ZodType<T>): Promise<T> {
  if (!req.header('content-type')?.toLowerCase().startsWith('application/json')) throw new WardenError('unsupported_media_type', 'send application/json');
  let raw: unknown;
  try {
    raw = await req.json();
  } catch {
    throw new WardenError('bad_request', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new WardenError('bad_request', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** Routes under /api/rooms/me. `onChange` is told the owner id after a change (to refresh chat caches). */
export function roomRoutes(db: Db, onChange: (ownerId: string) => void = () => {}): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate(db), requireRole('performer'));
  app.get('/me', async (c) => {
    const ownerId = c.get('user').userId;
    const cfg = await roomConfig(db, ownerId);
    return c.json({ slowModeS: cfg.slowModeS, terms: await listRoomTerms(db, ownerId) });
  });
  app.post('/me/terms', async (c) => {
    const body = await jsonBody(c.req, termBody);
    const ownerId = c.get('user').userId;
    const { id } = await upsertRoomTerm(db, ownerId, body.term, body.action);
    onChange(ownerId);
    return c.json({ id, ...body }, 201);
  });
  app.delete('/me/terms/:id', async (c) => {
    const id = c.req.param('id');
    if (!UUID.test(id)) throw new WardenError('not_found', 'no such term');
    const ownerId = c.get('user').userId;
    if (!(await deleteRoomTerm(db, ownerId, id))) throw new WardenError('not_found', 'no such term in your room');
    onChange(ownerId);
    return c.body(null, 204);
  });
  app.put('/me/slow-mode', async (c) => {
    const { seconds } = await jsonBody(c.req, slowModeBody);
    const ownerId = c.get('user').userId;
    await setSlowMode(db, ownerId, seconds);
    onChange(ownerId);
    return c.json({ slowModeS: seconds });
  });
  return app;
}
