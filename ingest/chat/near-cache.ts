/**
 * A node-local copy of the Redis keys the chat verdict reads on every message (restrictions and frozen rooms), kept
 * exact by Redis server-assisted client-side caching: `CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX …` makes Redis
 * push the name of every key under the tracked prefixes, whoever changes it and however (SET, DEL, expiry, FLUSHALL),
 * to this cache's own subscriber connection on `__redis__:invalidate` (https://redis.io/docs/latest/develop/reference/client-side-caching/).
 * A hit therefore costs a Map lookup instead of a round trip; a miss is one pipelined GET + PTTL per key.
 *
 * Safety rules, from the same reference:
 * - values are stored only while tracking is known to be on, and only if no invalidation arrived while they were
 *   being read (an epoch counter), so a value read before a change is never kept after it;
 * - when either of the cache's two connections drops, every entry is dropped and both connections are rebuilt: an
 *   invalidation may have been lost, and until tracking is on again every read goes to Redis;
 * - an entry also ends when its key's TTL does, whether or not the expiry's invalidation has arrived yet.
 *
 * Reads go over the caller's own connection (`redis`); the cache's connections only register tracking and receive
 * invalidations (and whatever else the owner subscribes to through {@link NearCache.onMessage}).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import { errorText } from '../../core/errors.ts';

const INVALIDATE = '__redis__:invalidate';

interface Entry {
  /** The key's value, null when the key does not exist. */
  value: string | null;
  /** ms epoch when the key expires in Redis (Infinity: no TTL). */
  expiresAt: number;
}

/** Options of {@link NearCache}. */
export interface NearCacheOptions {
  /** Commands (the reads on a miss). Its options are copied for the cache's own two connections. */
  redis: Redis;
  /** Key prefixes to track, e.g. `warden:restrict:` (every key under them is invalidated on change). */
  prefixes: string[];
  /** Further channels the cache's subscriber listens to; their messages go to `onMessage`. */
  channels?: string[];
  onMessage?: (channel: string, message: string) => void;
  /** Most entries kept (default 100,000); the oldest tenth is dropped past it. */
  maxEntries?: number;
  logger: Logger;
}

export class NearCache {
  private readonly entries = new Map<string, Entry>();
  private epoch = 0;
  /** Tracking registered on a live connection pair: entries may be stored. */
  private tracking = false;
  private conns: { track: Redis; sub: Redis } | null = null;
  private generation = 0;
  private stopped = false;
  private rebuildTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** Ends the names of the cache's two connections (`warden-chat-tracking-<tag>`, `warden-chat-invalidate-<tag>`). */
  readonly tag = randomBytes(4).toString('hex');
  /** Counters for metrics and tests. */
  readonly stats = { hits: 0, misses: 0, invalidations: 0, rebuilds: 0 };

  constructor(private readonly o: NearCacheOptions) {
    this.log = o.logger.child({ subsystem: 'chat-near-cache' });
  }

  /** Connects the tracking pair and registers tracking. @throws when Redis cannot be reached. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Closes the cache's connections; reads still work, uncached. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rebuildTimer);
    this.drop();
    this.conns?.track.disconnect();
    this.conns?.sub.disconnect();
    this.conns = null;
  }

  /** Whether entries are being kept (tracking is on). */
  get active(): boolean {
    return this.tracking;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The values of `keys` (null: no such key), from the cache where it holds them and one pipelined round trip for
   * the rest. @throws the Redis error when a missing key cannot be read.
   */
  async get(keys: readonly string[], now = Date.now()): Promise<(string | null)[]> {
    const out: (string | null)[] = new Array(keys.length);
    let missing: number[] | null = null;
    for (let i = 0; i < keys.length; i++) {
      const e = this.entries.get(keys[i]!);
      if (e && e.expiresAt > now) {
        out[i] = e.value;
        this.stats.hits++;
      } else (missing ??= []).push(i);
    }
    if (!missing) return out;
    this.stats.misses += missing.length;
    const epoch = this.epoch;
    const storable = this.tracking;
    const pipe = this.o.redis.pipeline();
    for (const i of missing) pipe.get(keys[i]!).pttl(keys[i]!);
    const replies = (await pipe.exec()) ?? [];
    const at = Date.now();
    missing.forEach((i, j) => {
      const [gErr, value] = replies[2 * j] ?? [new Error('no reply')];
      const [tErr, pttl] = replies[2 * j + 1] ?? [new Error('no reply')];
      if (gErr) throw gErr;
      out[i] = (value as string | null) ?? null;
      if (tErr || !storable || !this.tracking || this.epoch !== epoch) return;
      // PTTL: ms left; -1 no TTL; -2 no key (when GET still saw one, it expired in between: keep it stale)
      const ttl = Number(pttl);
      const expiresAt = ttl >= 0 ? at + ttl : ttl === -1 || out[i] === null ? Number.POSITIVE_INFINITY : at;
      this.store(keys[i]!, { value: out[i]!, expiresAt });
    });
    return out;
  }

  /** Reads `keys` into the cache now (a user joining a room: their first message then needs no round trip). */
  async warm(keys: readonly string[]): Promise<void> {
    await this.get(keys);
  }

  /** Drops keys from the cache (the owner learned of a change another way). */
  forget(keys: readonly string[]): void {
    for (const k of keys) this.entries.delete(k);
    this.epoch++;
  }

  private store(key: string, e: Entry): void {
    const max = this.o.maxEntries ?? 100_000;
    if (this.entries.size >= max) {
      let n = Math.ceil(max / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n <= 0) break;
      }
    }
    this.entries.set(key, e);
  }

  private drop(): void {
    this.tracking = false;
    this.entries.clear();
    this.epoch++;
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    const track = this.o.redis.duplicate({ connectionName: `warden-chat-tracking-${this.tag}`, lazyConnect: true, maxRetriesPerRequest: 1 });
    const sub = this.o.redis.duplicate({ connectionName: `warden-chat-invalidate-${this.tag}`, lazyConnect: true, autoResubscribe: false, maxRetriesPerRequest: 1 });
    for (const c of [track, sub]) c.on('error', () => {});
    this.conns = { track, sub };
    try {
      await Promise.all([track.connect(), sub.connect()]);
      const id = await sub.client('ID');
      sub.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => this.onInvalidate(gen, String(channel), message));
      sub.on('message', (channel: string, message: string) => {
        if (channel !== INVALIDATE) this.o.onMessage?.(channel, message);
      });
      await sub.subscribe(INVALIDATE, ...(this.o.channels ?? []));
      await track.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', ...this.o.prefixes.flatMap((p) => ['PREFIX', p]));
    } catch (err) {
      track.disconnect();
      sub.disconnect();
      throw err;
    }
    if (gen !== this.generation || this.stopped) return;
    // from here on every change under the prefixes is pushed to `sub`; a dropped connection loses that promise
    for (const c of [track, sub]) c.once('close', () => this.lost(gen));
    this.entries.clear();
    this.epoch++;
    this.tracking = true;
  }

  private onInvalidate(gen: number, channel: string, message: Buffer | Buffer[] | null): void {
    if (channel !== INVALIDATE || gen !== this.generation) return;
    this.stats.invalidations++;
    this.epoch++;
    // a null payload means every key (FLUSHALL, FLUSHDB)
    if (!Array.isArray(message)) return void this.entries.clear();
    for (const k of message) this.entries.delete(k.toString('utf8'));
  }

  /** A connection of the pair dropped: forget everything, rebuild the pair until it works. */
  private lost(gen: number): void {
    if (gen !== this.generation || this.stopped) return;
    this.generation++;
    this.drop();
    this.stats.rebuilds++;
    this.conns?.track.disconnect();
    this.conns?.sub.disconnect();
    this.conns = null;
    this.log.warn('Redis connection of the chat gate dropped: local copies cleared, every check reads Redis until tracking is back');
    const retry = (delayMs: number) => {
      this.rebuildTimer = setTimeout(() => {
        if (this.stopped) return;
        this.connect().then(
          () => this.log.info('chat gate tracking restored'),
          (err) => {
            this.log.debug({ err: errorText(err) }, 'chat gate tracking not restored yet');
            retry(Math.min(delayMs * 2, 2000));
          },
        );
      }, delayMs);
      this.rebuildTimer.unref?.();
    };
    retry(100);
  }
}
