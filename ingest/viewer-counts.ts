/**
 * Audience counts: how many viewers play each broadcast now, published to Redis by the ingest node that holds the
 * broadcast (plays only ever reach that node: the play API sends viewers there), read by any API node (the studio's
 * live page). The audience is the viewers' plays admitted through the play gate; the performer's own preview and
 * staff watching (exempt plays) are not counted.
 *
 * Changes are coalesced: a join storm of a thousand viewers is one write per broadcast per `flushMs`. Each key lives
 * `ttlS` and is refreshed at a third of that, so the count of a node that died disappears instead of going stale;
 * a key that is absent means "not counted here" (a broadcast held by another media server), not zero.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';

/** Redis key of a broadcast's audience count (a decimal integer). */
export const viewerCountKey = (prefix: string, broadcastId: string) => `${prefix}:viewers:${broadcastId}`;

/**
 * The audience of each broadcast now, as its ingest node last published it (one MGET).
 * @returns one count per id, in order; null where no node counts it (not live on a Warden ingest node, or that node died).
 * @throws when Redis does not answer.
 */
export async function readViewerCounts(redis: Redis, prefix: string, broadcastIds: readonly string[]): Promise<(number | null)[]> {
  if (broadcastIds.length === 0) return [];
  const raw = await redis.mget(broadcastIds.map((id) => viewerCountKey(prefix, id)));
  return raw.map((r) => (r === null ? null : Number(r)));
}

export interface ViewerCountsDeps {
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** Most time between a change and its write (ms, default 1000). */
  flushMs?: number;
  /** Life of a count in Redis (s, default 90); refreshed every third of it. */
  ttlS?: number;
}

/** The counts of the broadcasts this node holds (see the module comment). */
export class ViewerCounts {
  private readonly counts = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private readonly ttlS: number;
  private refreshedAt = Date.now();
  private failing = false;

  constructor(private readonly deps: ViewerCountsDeps) {
    this.ttlS = deps.ttlS ?? 90;
    this.timer = setInterval(() => void this.flush(), deps.flushMs ?? 1000);
    this.timer.unref();
  }

  /** A broadcast went live on this node: its count (0) is published at the next flush. */
  track(broadcastId: string): void {
    if (this.counts.has(broadcastId)) return;
    this.counts.set(broadcastId, 0);
    this.dirty.add(broadcastId);
  }

  /** A broadcast ended: its count is deleted now. */
  untrack(broadcastId: string): void {
    if (!this.counts.delete(broadcastId)) return;
    this.dirty.delete(broadcastId);
    void this.deps.redis.del(viewerCountKey(this.deps.prefix, broadcastId)).catch(() => {});
  }

  /** A counted play joined (+1) or left (-1). Ignored for a broadcast not tracked (ended meanwhile). */
  add(broadcastId: string, delta: number): void {
    const n = this.counts.get(broadcastId);
    if (n === undefined) return;
    this.counts.set(broadcastId, Math.max(0, n + delta));
    this.dirty.add(broadcastId);
  }

  /** Writes the changed counts (every count, once a third of the TTL has passed). Never throws. */
  async flush(): Promise<void> {
    const refresh = Date.now() - this.refreshedAt >= (this.ttlS * 1000) / 3;
    const ids = refresh ? [...this.counts.keys()] : [...this.dirty];
    if (!ids.length) return;
    this.dirty.clear();
    if (refresh) this.refreshedAt = Date.now();
    const pipe = this.deps.redis.pipeline();
    for (const id of ids) pipe.set(viewerCountKey(this.deps.prefix, id), String(this.counts.get(id) ?? 0), 'EX', this.ttlS);
    try {
      const results = await pipe.exec();
      const err = results?.find(([e]) => e)?.[0];
      if (err) throw err;
      this.failing = false;
      // a broadcast that ended while the write was on its way: its key goes again
      const gone = ids.filter((id) => !this.counts.has(id));
      if (gone.length) await this.deps.redis.del(...gone.map((id) => viewerCountKey(this.deps.prefix, id)));
    } catch (err) {
      // written again at the next change or refresh; logged once per outage
      for (const id of ids) if (this.counts.has(id)) this.dirty.add(id);
      if (!this.failing) this.deps.logger.warn({ err: errorText(err) }, 'viewer counts not published (Redis unavailable); retrying');
      this.failing = true;
    }
  }

  /** Stops publishing and deletes the counts this node still holds. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const ids = [...this.counts.keys()];
    this.counts.clear();
    this.dirty.clear();
    if (ids.length) await this.deps.redis.del(...ids.map((id) => viewerCountKey(this.deps.prefix, id))).catch(() => {});
  }
}
