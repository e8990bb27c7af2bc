/**
 * The per-message chat gate: a room frozen by the performer's panic alert, restrictions (ban, timeout, mute)
 * platform-wide and in the room, slow mode, duplicate text, and burst and sustained rate limits (fixed windows
 * starting at the first message). It decides on the node, without a round trip, because it runs before every
 * message's verdict and a Redis round trip alone is several milliseconds at p99 on a busy machine:
 *
 * - Restrictions and frozen rooms stay in Redis, written by whoever decides them (moderation/), and are read through
 *   a {@link NearCache}: Redis pushes every change to them, so a node's copy is exact but for the push's own delay
 *   (well under a millisecond on one network). A user's keys are read when they join a room ({@link ChatLimits.warm}).
 * - Rate limits, slow mode and duplicates are counted on every node: each node counts the messages it checks and
 *   tells the others on `<prefix>:chat:posts`, and they count them too. Limits are therefore shared by all nodes,
 *   a message posted on one node counting on another once that notice has arrived (the same sub-millisecond delay; a
 *   user posting on two nodes within that delay may get one message more past a limit). A restarted node starts
 *   its counts from zero.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import type { ChatPolicy } from '../../rules/index.ts';
import { frozenRoomKey, restrictionKey, type Restriction } from '../../moderation/index.ts';
import { NearCache } from './near-cache.ts';

/** The gate's answer for one message. */
export type GateAnswer =
  | { ok: true }
  | { ok: false; code: 'restricted'; restriction: Restriction }
  | { ok: false; code: 'slow_mode' | 'duplicate' | 'rate_limited'; retryAfterMs: number };

/** The limits of the policy a check applies (rules/ ChatPolicy's). */
export type GateLimits = Pick<ChatPolicy, 'rateLimit' | 'duplicateWithinMs'>;

/** Options of {@link ChatLimits}. */
export interface ChatLimitsOptions {
  /** Commands: reads on a cache miss, notices to other nodes. Its options are copied for the gate's own connections. */
  redis: Redis;
  prefix: string;
  logger: Logger;
}

/** A fixed window: `count` messages since it opened, closing at `resetAt` (ms epoch). */
interface Window { count: number; resetAt: number }

/** What a node tells the others about a message it checked (on the posts channel, in JSON arrays of them). */
interface PostNotice {
  /** The sending gate (a node ignores its own). */
  n: string;
  u: string;
  o: string;
  /** Duplicate hash of the normalised text. */
  h: string;
  /** Let through: slow mode and the duplicate window start. */
  ok: boolean;
  /** Window lengths, ms: burst, sustained, slow mode (0: off), duplicates (0: off). */
  bp: number;
  sp: number;
  s: number;
  d: number;
}

/** Channel on which gates tell each other about checked messages. */
export const postsChannel = (prefix: string) => `${prefix}:chat:posts`;

export class ChatLimits {
  private readonly cache: NearCache;
  private readonly burst = new Map<string, Window>();
  private readonly sustained = new Map<string, Window>();
  /** `owner\nuser` → ms epoch the user may post again in that room. */
  private readonly slow = new Map<string, number>();
  /** `user\nhash` → ms epoch until which the same text is a duplicate. */
  private readonly dup = new Map<string, number>();
  private readonly id = randomBytes(6).toString('base64url');
  private sweeper: NodeJS.Timeout | undefined;
  /** Notices waiting to be published (see {@link tell}). */
  private outbox: PostNotice[] = [];
  /** Notices from other nodes applied (tests, metrics). */
  remoteNotices = 0;

  constructor(private readonly o: ChatLimitsOptions) {
    this.cache = new NearCache({
      redis: o.redis, prefixes: [`${o.prefix}:restrict:`, `${o.prefix}:frozen:`], channels: [postsChannel(o.prefix)],
      onMessage: (_channel, message) => this.onNotice(message), logger: o.logger,
    });
  }

  /** Connects the gate's own Redis connections (tracking and notices). @throws when Redis cannot be reached. */
  async start(): Promise<void> {
    await this.cache.start();
    this.sweeper = setInterval(() => this.sweep(Date.now()), 10_000);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await this.cache.stop();
  }

  /** The near cache (its hit counts and whether it is active), for metrics and tests. */
  get restrictions(): Pick<NearCache, 'stats' | 'active' | 'size' | 'tag'> {
    return this.cache;
  }

  /** Reads a user's restrictions for a room into the node's copy (when they join it). */
  async warm(userId: string, ownerId: string): Promise<void> {
    await this.cache.warm(this.keys(userId, ownerId));
  }

  /** Drops a user's copied restriction in a scope (`platform` or `room:<ownerId>`): it changed. */
  forget(userId: string, scope: string): void {
    this.cache.forget([restrictionKey(this.o.prefix, scope, userId)]);
  }

  /**
   * Checks and counts one message. Resolves without a round trip when the user's restrictions are copied on this
   * node (after {@link warm}); otherwise reads them once.
   * @param normalizedText the analyzer's normalised text (duplicates are compared on it, so evasions collide).
   * @param slowModeS the room's slow mode, seconds (0: off).
   * @throws the Redis error when restrictions must be read and Redis does not answer.
   */
  async check(userId: string, ownerId: string, normalizedText: string, chat: GateLimits, slowModeS: number): Promise<GateAnswer> {
    const [frozen, platform, room] = await this.cache.get(this.keys(userId, ownerId));
    for (const r of [frozen, platform, room]) if (r) return { ok: false, code: 'restricted', restriction: JSON.parse(r) as Restriction };
    const now = Date.now();
    const slowKey = `${ownerId}\n${userId}`;
    const slowUntil = slowModeS > 0 ? this.slow.get(slowKey) : undefined;
    if (slowUntil !== undefined && slowUntil > now) return { ok: false, code: 'slow_mode', retryAfterMs: slowUntil - now };
    const hash = createHash('sha1').update(normalizedText.toLowerCase()).digest('base64url');
    const dupKey = `${userId}\n${hash}`;
    const dupUntil = chat.duplicateWithinMs > 0 ? this.dup.get(dupKey) : undefined;
    if (dupUntil !== undefined && dupUntil > now) return { ok: false, code: 'duplicate', retryAfterMs: dupUntil - now };
    const { burst, sustained } = chat.rateLimit;
    const b = count(this.burst, userId, burst.perMs, now);
    const s = count(this.sustained, userId, sustained.perMs, now);
    const ok = b.count <= burst.count && s.count <= sustained.count;
    if (ok) this.started(slowKey, dupKey, slowModeS * 1000, chat.duplicateWithinMs, now);
    this.tell({ n: this.id, u: userId, o: ownerId, h: hash, ok, bp: burst.perMs, sp: sustained.perMs, s: slowModeS * 1000, d: chat.duplicateWithinMs });
    if (b.count > burst.count) return { ok: false, code: 'rate_limited', retryAfterMs: b.resetAt - now };
    if (s.count > sustained.count) return { ok: false, code: 'rate_limited', retryAfterMs: s.resetAt - now };
    return { ok: true };
  }

  /**
   * Queues a notice for the other nodes; the queue goes out as one PUBLISH (a JSON array) once the current work is
   * done, so the verdict never waits for it and a burst of messages costs one Redis command.
   */
  private tell(n: PostNotice): void {
    this.outbox.push(n);
    if (this.outbox.length > 1) return;
    setImmediate(() => {
      const batch = this.outbox;
      this.outbox = [];
      this.o.redis.publish(postsChannel(this.o.prefix), JSON.stringify(batch)).catch(() => {});
    });
  }

  private keys(userId: string, ownerId: string): string[] {
    const p = this.o.prefix;
    return [frozenRoomKey(p, ownerId), restrictionKey(p, 'platform', userId), restrictionKey(p, `room:${ownerId}`, userId)];
  }

  private started(slowKey: string, dupKey: string, slowMs: number, dupMs: number, now: number): void {
    if (slowMs > 0) this.slow.set(slowKey, now + slowMs);
    if (dupMs > 0) this.dup.set(dupKey, now + dupMs);
  }

  private onNotice(message: string): void {
    let batch: PostNotice[];
    try { batch = JSON.parse(message) as PostNotice[]; } catch { return; }
    if (!Array.isArray(batch)) return;
    const now = Date.now();
    for (const n of batch) {
      if (!n || n.n === this.id || typeof n.u !== 'string' || typeof n.o !== 'string') continue;
      this.remoteNotices++;
      count(this.burst, n.u, n.bp, now);
      count(this.sustained, n.u, n.sp, now);
      if (n.ok) this.started(`${n.o}\n${n.u}`, `${n.u}\n${n.h}`, n.s, n.d, now);
    }
  }

  /** Drops windows and marks that have ended (every 10 s), so memory follows the users active lately. */
  private sweep(now: number): void {
    for (const m of [this.burst, this.sustained]) for (const [k, w] of m) if (w.resetAt <= now) m.delete(k);
    for (const m of [this.slow, this.dup]) for (const [k, until] of m) if (until <= now) m.delete(k);
  }
}

/** Counts one message in a user's window, opening a new window when the last has ended. */
function count(windows: Map<string, Window>, userId: string, perMs: number, now: number): Window {
  let w = windows.get(userId);
  if (!w || w.resetAt <= now) {
    w = { count: 0, resetAt: now + perMs };
    windows.set(userId, w);
  }
  w.count++;
  return w;
}
