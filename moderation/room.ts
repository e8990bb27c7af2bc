/**
 * A performer's moderation of their own room: blocking viewers (a room ban, recorded and audited like a
 * moderator's, mirrored in Redis and announced on the enforcement channel so the viewer's chat and plays stop at
 * once on every node), trusting viewers (who may post while the room is trusted-only), and the room's settings
 * (trusted-only chat, slow mode, the panic button's default protection, mirrored in Redis so a panic press can
 * read it without Postgres).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { WardenError } from '../core/errors.ts';
import {
  activeRestrictions, activeRoomBan, addTrustedUser, appendAction, insertBan, liftRoomBans, listRoomBlocks, listTrustedUsers, removeTrustedUser,
  roomScope, roomSettingsOf, updateRoomSettings, userByHandle, type Db, type RoomSettings,
} from '../db/index.ts';
import { PROTECTIONS, type Protection } from './alerts.ts';
import { mirrorRestriction, restrictionKey, type Restriction } from './chat.ts';
import { enforcementChannel, type EnforcementMessage } from './enforcer.ts';

/** Roles a performer cannot block or trust in their room (staff moderate every room). */
const STAFF = new Set(['moderator', 'senior_moderator', 'admin']);
/** The reason a room block records (shown to the viewer when their post or play is refused). */
export const ROOM_BLOCK_REASON = 'blocked by the performer';

/** The Redis key mirroring a performer's saved panic protection (read by the panic button without Postgres). */
export const panicProtectionKey = (prefix: string, ownerId: string) => `${prefix}:panic-protection:${ownerId}`;

/**
 * The protection a performer saved for their panic button, from the Redis mirror; null when none is mirrored or
 * Redis does not answer within `timeoutMs` (the caller then applies 'none': a panic press never waits).
 */
export async function savedPanicProtection(redis: Redis, prefix: string, ownerId: string, timeoutMs = 150): Promise<Protection | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const raw = await Promise.race([
      redis.get(panicProtectionKey(prefix, ownerId)),
      new Promise<null>((r) => { timer = setTimeout(() => r(null), timeoutMs); }),
    ]);
    return raw && (PROTECTIONS as readonly string[]).includes(raw) ? raw as Protection : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** A viewer blocked from a room. */
export interface RoomBlock { userId: string; handle: string; reason: string; createdAt: string; expiresAt: string | null }

export interface RoomModerationDeps {
  db: Db;
  /** A command connection (publishes on the enforcement channel). */
  redis: Redis;
  prefix: string;
  logger: Logger;
}

export class RoomModeration {
  constructor(private readonly deps: RoomModerationDeps) {}

  /** The user named by a handle, who must be someone a performer may block or trust in their room. @throws 404, 400. */
  private async target(ownerId: string, handle: string, what: 'block' | 'trust') {
    const user = await userByHandle(this.deps.db, handle.trim().replace(/^@/, ''));
    if (!user) throw new WardenError('not_found', `no user @${handle.trim().replace(/^@/, '')}`);
    if (user.id === ownerId) throw new WardenError('bad_request', `you cannot ${what} yourself`);
    if (STAFF.has(user.role)) throw new WardenError('bad_request', `@${user.handle} is staff: staff moderate every room and cannot be ${what === 'block' ? 'blocked' : 'trusted'}`);
    return user;
  }

  /**
   * Blocks a viewer from the performer's room: a room ban (scope `room:<owner id>`, created by
   * `performer:<owner id>`) and a `room_block` action in one transaction, then the Redis mirror and a
   * `restrict_user` enforcement message (their chat posts are refused and their plays of the performer's
   * broadcasts disconnected, on every node). Blocking someone already blocked changes nothing.
   * @returns the block and whether it is new.
   */
  async block(ownerId: string, handle: string): Promise<{ block: RoomBlock; created: boolean }> {
    const user = await this.target(ownerId, handle, 'block');
    const scope = roomScope(ownerId);
    const existing = await activeRoomBan(this.deps.db, ownerId, user.id);
    if (existing) return { block: { userId: user.id, handle: user.handle, reason: ROOM_BLOCK_REASON, createdAt: existing.createdAt.toISOString(), expiresAt: null }, created: false };
    const createdAt = await this.deps.db.transaction(async (tx) => {
      const ban = await insertBan(tx, { userId: user.id, kind: 'ban', scope, reason: ROOM_BLOCK_REASON, createdBy: `performer:${ownerId}` });
      await appendAction(tx, {
        action: 'room_block', actorType: 'user', actorId: ownerId, subjectType: 'user', subjectId: user.id, userId: user.id,
        details: { banId: ban.id, scope },
      });
      return new Date();
    });
    const restriction: Restriction = { kind: 'ban', until: null, reason: ROOM_BLOCK_REASON };
    await mirrorRestriction(this.deps.redis, this.deps.prefix, user.id, scope, restriction);
    await this.deps.redis.publish(enforcementChannel(this.deps.prefix), JSON.stringify({ type: 'restrict_user', userId: user.id, scope, restriction } satisfies EnforcementMessage));
    this.deps.logger.info({ ownerId, userId: user.id }, 'viewer blocked from a room');
    return { block: { userId: user.id, handle: user.handle, reason: ROOM_BLOCK_REASON, createdAt: createdAt.toISOString(), expiresAt: null }, created: true };
  }

  /**
   * Unblocks a viewer: their room bans lifted and a `room_unblock` action (one transaction), then the Redis mirror
   * cleared (or set to a room restriction still standing). @throws 404 when they are not blocked.
   */
  async unblock(ownerId: string, userId: string): Promise<void> {
    const scope = roomScope(ownerId);
    await this.deps.db.transaction(async (tx) => {
      const lifted = await liftRoomBans(tx, ownerId, userId, `performer:${ownerId}`);
      if (lifted.length === 0) throw new WardenError('not_found', 'that user is not blocked from your room');
      await appendAction(tx, { action: 'room_unblock', actorType: 'user', actorId: ownerId, subjectType: 'user', subjectId: userId, userId, details: { bans: lifted, scope } });
    });
    const { redis, prefix, db } = this.deps;
    await redis.del(restrictionKey(prefix, scope, userId));
    const [still] = await activeRestrictions(db, userId, scope);
    if (still) await mirrorRestriction(redis, prefix, userId, scope, { kind: still.kind, until: still.expiresAt?.toISOString() ?? null, reason: still.reason });
    this.deps.logger.info({ ownerId, userId }, 'viewer unblocked from a room');
  }

  /** The viewers blocked from a room, newest first. */
  async blocks(ownerId: string): Promise<RoomBlock[]> {
    return (await listRoomBlocks(this.deps.db, ownerId)).map((b) => ({ userId: b.userId, handle: b.handle, reason: b.reason, createdAt: b.createdAt.toISOString(), expiresAt: b.expiresAt?.toISOString() ?? null }));
  }

  /** Trusts a viewer in the room (audited `room_trust`). @returns the user and whether they were new to the list. */
  async trust(ownerId: string, handle: string): Promise<{ user: { userId: string; handle: string }; created: boolean }> {
    const user = await this.target(ownerId, handle, 'trust');
    const created = await this.deps.db.transaction(async (tx) => {
      const isNew = await addTrustedUser(tx, ownerId, user.id);
      if (isNew) await appendAction(tx, { action: 'room_trust', actorType: 'user', actorId: ownerId, subjectType: 'user', subjectId: user.id, userId: user.id, details: { scope: roomScope(ownerId) } });
      return isNew;
    });
    return { user: { userId: user.id, handle: user.handle }, created };
  }

  /** Stops trusting a viewer (audited `room_untrust`). @throws 404 when they were not trusted. */
  async untrust(ownerId: string, userId: string): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      if (!(await removeTrustedUser(tx, ownerId, userId))) throw new WardenError('not_found', 'that user is not on your trusted list');
      await appendAction(tx, { action: 'room_untrust', actorType: 'user', actorId: ownerId, subjectType: 'user', subjectId: userId, userId, details: { scope: roomScope(ownerId) } });
    });
  }

  /** The room's trusted users, newest first. */
  async trusted(ownerId: string): Promise<{ userId: string; handle: string; createdAt: string }[]> {
    return (await listTrustedUsers(this.deps.db, ownerId)).map((u) => ({ ...u, createdAt: u.createdAt.toISOString() }));
  }

  /** The room's settings; the panic protection is mirrored to Redis again on the way (it may have been lost). */
  async settings(ownerId: string): Promise<RoomSettings> {
    const s = await roomSettingsOf(this.deps.db, ownerId);
    await this.mirrorProtection(ownerId, s.panicProtection);
    return s;
  }

  /**
   * Saves some of the room's settings with a `room_settings` action (one transaction), then mirrors the panic
   * protection in Redis. @returns the settings now in force.
   */
  async saveSettings(ownerId: string, change: Partial<RoomSettings>): Promise<RoomSettings> {
    const saved = await this.deps.db.transaction(async (tx) => {
      const s = await updateRoomSettings(tx, ownerId, change);
      await appendAction(tx, { action: 'room_settings', actorType: 'user', actorId: ownerId, subjectType: 'room', subjectId: ownerId, userId: ownerId, details: { change } });
      return s;
    });
    await this.mirrorProtection(ownerId, saved.panicProtection);
    return saved;
  }

  private async mirrorProtection(ownerId: string, protection: Protection): Promise<void> {
    await this.deps.redis.set(panicProtectionKey(this.deps.prefix, ownerId), protection);
  }
}
