/**
 * A performer's own room moderation (declared routes under /api/rooms/me, performers only, their own room only):
 * their blocked-terms list (each term with its verdict; a room can tighten the platform policy, never loosen it,
 * so the verdicts offered are flag, hold and block), the room's settings (slow mode, trusted-users-only chat, the
 * panic button's default protection), viewers they block (a room ban: no chat, no plays, on every node at once)
 * and the users they trust (who may post while the room is trusted-only). Every change reaches the chat gateways
 * through `onChange` (the runtime drops its cache and tells every node).
 */
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import { deleteRoomTerm, listRoomTerms, upsertRoomTerm, type Db } from '../db/index.ts';
import { PROTECTIONS, type RoomModeration } from '../moderation/index.ts';
import { isoTime, uuid, type ApiRouter } from './route.ts';

const PERFORMER = ['performer'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const termBody = z.strictObject({
  term: z.string().trim().min(1, 'term is empty').max(100, 'a term is at most 100 characters'),
  action: z.enum(['flag', 'hold', 'block']),
});
const termSchema = z.object({ id: z.string(), term: z.string(), action: z.enum(['flag', 'hold', 'block']), createdAt: isoTime });
const slowModeS = z.int().min(0).max(3600).describe('seconds a viewer waits between two messages (0: off)');
const settingsSchema = z.object({ slowModeS: z.int(), trustedOnly: z.boolean(), panicProtection: z.enum(PROTECTIONS) });
const handleBody = z.strictObject({ handle: z.string().trim().min(1, 'give a handle').max(64) });
const blockSchema = z.object({ userId: z.string(), handle: z.string(), reason: z.string(), createdAt: isoTime, expiresAt: isoTime.nullable() });
const trustedSchema = z.object({ userId: z.string(), handle: z.string(), createdAt: isoTime });
const userParams = z.strictObject({ userId: uuid });

export interface RoomRouteDeps {
  db: Db;
  rooms: RoomModeration;
  /** Told the owner id after a change (to refresh chat caches on every node). */
  onChange?: (ownerId: string) => void;
}

/** Declares the routes under /rooms/me. */
export function roomRoutes(router: ApiRouter, deps: RoomRouteDeps): void {
  const { db, rooms } = deps;
  const changed = (ownerId: string) => deps.onChange?.(ownerId);

  router.add({
    method: 'get', path: '/rooms/me', tag: 'rooms', access: PERFORMER, summary: 'Your room: its settings and blocked terms',
    response: settingsSchema.extend({ terms: z.array(termSchema) }),
  }, async ({ c, user }) => {
    const [settings, terms] = await Promise.all([rooms.settings(user.userId), listRoomTerms(db, user.userId)]);
    return c.json({ ...settings, terms: terms.map((t) => ({ id: t.id, term: t.term, action: t.action, createdAt: t.createdAt.toISOString() })) });
  });

  router.add({
    method: 'post', path: '/rooms/me/terms', tag: 'rooms', access: PERFORMER, body: termBody, status: 201,
    summary: 'Adds a term to your room\'s list (or changes its verdict: one term per spelling, case-insensitive)', response: z.object({ id: z.string(), term: z.string(), action: z.string() }),
  }, async ({ c, body, user }) => {
    const { id } = await upsertRoomTerm(db, user.userId, body.term, body.action);
    changed(user.userId);
    return c.json({ id, ...body }, 201);
  });

  router.add({
    method: 'delete', path: '/rooms/me/terms/:id', tag: 'rooms', access: PERFORMER, params: z.strictObject({ id: z.string() }), status: 204,
    summary: 'Removes a term from your room\'s list',
  }, async ({ c, params, user }) => {
    if (!UUID.test(params.id)) throw new WardenError('not_found', 'no such term');
    if (!(await deleteRoomTerm(db, user.userId, params.id))) throw new WardenError('not_found', 'no such term in your room');
    changed(user.userId);
    return c.body(null, 204);
  });

  router.add({
    method: 'put', path: '/rooms/me/slow-mode', tag: 'rooms', access: PERFORMER, body: z.strictObject({ seconds: slowModeS }),
    summary: 'Sets slow mode (seconds between two messages of one viewer; 0 = off)', response: z.object({ slowModeS: z.int() }),
  }, async ({ c, body, user }) => {
    const s = await rooms.saveSettings(user.userId, { slowModeS: body.seconds });
    changed(user.userId);
    return c.json({ slowModeS: s.slowModeS });
  });

  router.add({
    method: 'put', path: '/rooms/me/settings', tag: 'rooms', access: PERFORMER, response: settingsSchema,
    body: z.strictObject({
      slowModeS: slowModeS.optional(),
      trustedOnly: z.boolean().optional().describe('only your trusted users may post; everyone else may still read'),
      panicProtection: z.enum(PROTECTIONS).optional().describe('what your panic button does when a press names no protection'),
    }).refine((b) => Object.keys(b).length > 0, 'change at least one setting'),
    summary: 'Changes your room\'s settings (those sent; the others stay): slow mode, trusted-users-only chat, the panic button\'s default protection; audited',
  }, async ({ c, body, user }) => {
    const s = await rooms.saveSettings(user.userId, body);
    changed(user.userId);
    return c.json(s);
  });

  router.add({
    method: 'get', path: '/rooms/me/blocks', tag: 'rooms', access: PERFORMER, response: z.array(blockSchema),
    summary: 'Viewers you blocked from your room, newest first',
  }, async ({ c, user }) => c.json(await rooms.blocks(user.userId)));

  router.add({
    method: 'post', path: '/rooms/me/blocks', tag: 'rooms', access: PERFORMER, body: handleBody, status: 201, response: blockSchema,
    summary: 'Blocks a viewer from your room by handle: their chat posts are refused and their plays of your streams cut at once, on every node (201; 200 when already blocked). 404 unknown handle, 400 yourself or staff; audited',
  }, async ({ c, body, user }) => {
    const r = await rooms.block(user.userId, body.handle);
    return c.json(r.block, r.created ? 201 : 200);
  });

  router.add({
    method: 'delete', path: '/rooms/me/blocks/:userId', tag: 'rooms', access: PERFORMER, params: userParams, status: 204,
    summary: 'Unblocks a viewer (404 when not blocked); audited',
  }, async ({ c, params, user }) => {
    await rooms.unblock(user.userId, params.userId);
    return c.body(null, 204);
  });

  router.add({
    method: 'get', path: '/rooms/me/trusted', tag: 'rooms', access: PERFORMER, response: z.array(trustedSchema),
    summary: 'Your trusted users (they may post while your room is trusted-only), newest first',
  }, async ({ c, user }) => c.json(await rooms.trusted(user.userId)));

  router.add({
    method: 'post', path: '/rooms/me/trusted', tag: 'rooms', access: PERFORMER, body: handleBody, status: 201,
    response: z.object({ userId: z.string(), handle: z.string() }),
    summary: 'Trusts a user by handle (201; 200 when already trusted). 404 unknown handle, 400 yourself or staff; audited',
  }, async ({ c, body, user }) => {
    const r = await rooms.trust(user.userId, body.handle);
    changed(user.userId);
    return c.json(r.user, r.created ? 201 : 200);
  });

  router.add({
    method: 'delete', path: '/rooms/me/trusted/:userId', tag: 'rooms', access: PERFORMER, params: userParams, status: 204,
    summary: 'Stops trusting a user (404 when not trusted); audited',
  }, async ({ c, params, user }) => {
    await rooms.untrust(user.userId, params.userId);
    changed(user.userId);
    return c.body(null, 204);
  });
}
