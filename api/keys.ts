/** A performer's stream keys: list, create (shown once), rotate, revoke. Performers only, their own keys only. */
import { z } from 'zod';
import { listStreamKeys, type Db } from '../db/index.ts';
import type { StreamKeyService } from '../moderation/index.ts';
import { idParams, iso, isoTime, type ApiRouter } from './route.ts';

const label = z.strictObject({ label: z.string().trim().max(60).nullish() });
const created = z.object({ id: z.string(), key: z.string().describe('the stream key: shown only now'), prefix: z.string() });

/** Declares the stream key routes. */
export function keyRoutes(router: ApiRouter, deps: { db: Db; keys: StreamKeyService }): void {
  router.add({
    method: 'get', path: '/keys', tag: 'keys', access: ['performer'], summary: 'Your stream keys (prefixes only), with the broadcast live on each',
    response: z.array(z.object({ id: z.string(), prefix: z.string(), label: z.string().nullable(), createdAt: isoTime, revokedAt: isoTime.nullable(), liveBroadcastId: z.string().nullable() })),
  }, async ({ c, user }) => c.json((await listStreamKeys(deps.db, user.userId)).map((k) => ({ ...k, createdAt: k.createdAt.toISOString(), revokedAt: iso(k.revokedAt) }))));

  router.add({
    method: 'post', path: '/keys', tag: 'keys', access: ['performer'], body: label, status: 201, response: created,
    summary: 'A new stream key, shown once (needs an approved verification and no ban)',
  }, async ({ c, body, user }) => c.json(await deps.keys.create(user.userId, body.label ?? null), 201));

  router.add({
    method: 'post', path: '/keys/:id/rotate', tag: 'keys', access: ['performer'], params: idParams, body: label, status: 201,
    response: created.extend({ endedBroadcastId: z.string().nullable() }),
    summary: 'Replaces a key: a new one (shown once); the old one is revoked and a broadcast live on it ends',
  }, async ({ c, params, body, user }) => c.json(await deps.keys.rotate(user.userId, params.id, body.label ?? null), 201));

  router.add({
    method: 'post', path: '/keys/:id/revoke', tag: 'keys', access: ['performer'], params: idParams,
    response: z.object({ endedBroadcastId: z.string().nullable() }), summary: 'Revokes a key; a broadcast live on it ends within a second',
  }, async ({ c, params, user }) => c.json(await deps.keys.revoke(user.userId, params.id)));
}
