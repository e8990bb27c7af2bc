/**
 * Stream keys for performers: created only with an approved verification and no ban, shown once (only the hash
 * is stored), rotated (a new key, the old one revoked) and revoked. Revoking a key ends the broadcast live on
 * it within a second, on whichever ingest node holds it. Every change is audited.
 */
import type { Redis } from 'ioredis';
import { WardenError } from '../core/errors.ts';
import { insertStreamKey, mayHoldStreamKeys, revokeStreamKey, type Db } from '../db/index.ts';
import { generateStreamKey, hashStreamKey, keyPrefix } from '../ingest/stream-keys.ts';
import { auditAccountEvent } from './accounts.ts';
import { enforcementChannel, type EnforcementMessage } from './enforcer.ts';

export class StreamKeyService {
  constructor(private readonly deps: { db: Db; redis: Redis; prefix: string }) {}

  /** A new key for the performer. @returns the key in clear (shown once) and its id. @throws 403 when they may not hold keys. */
  async create(userId: string, label: string | null): Promise<{ id: string; key: string; prefix: string }> {
    const may = await mayHoldStreamKeys(this.deps.db, userId);
    if (!may.ok) throw new WardenError('forbidden', may.why!);
    const key = generateStreamKey();
    const { id } = await this.deps.db.transaction(async (tx) => {
      const row = await insertStreamKey(tx, { userId, keyHash: hashStreamKey(key), keyPrefix: keyPrefix(key), label: label ?? undefined });
      await auditAccountEvent(tx, { action: 'stream_key_created', actor: { type: 'user', id: userId }, userId, details: { keyId: row.id, prefix: keyPrefix(key), label } });
      return row;
    });
    return { id, key, prefix: keyPrefix(key) };
  }

  /** Revokes one of the performer's keys and ends the broadcast live on it. @throws 404 when it is not theirs or already revoked. */
  async revoke(userId: string, keyId: string, why: 'revoked' | 'rotated' = 'revoked'): Promise<{ endedBroadcastId: string | null }> {
    const r = await this.deps.db.transaction(async (tx) => {
      const row = await revokeStreamKey(tx, userId, keyId);
      if (!row) throw new WardenError('not_found', 'no such live stream key of yours');
      await auditAccountEvent(tx, { action: `stream_key_${why}`, actor: { type: 'user', id: userId }, userId, details: { keyId, prefix: row.prefix, endedBroadcastId: row.liveBroadcastId } });
      return row;
    });
    if (r.liveBroadcastId) {
      await this.deps.redis.publish(enforcementChannel(this.deps.prefix), JSON.stringify({ type: 'end_stream', broadcastId: r.liveBroadcastId, reason: `stream key ${r.prefix}… ${why}` } satisfies EnforcementMessage));
    }
    return { endedBroadcastId: r.liveBroadcastId };
  }

  /** Replaces a key: a new one (shown once), the old one revoked (its live broadcast ends; the performer reconnects with the new key). */
  async rotate(userId: string, keyId: string, label: string | null): Promise<{ id: string; key: string; prefix: string; endedBroadcastId: string | null }> {
    const created = await this.create(userId, label);
    const { endedBroadcastId } = await this.revoke(userId, keyId, 'rotated');
    return { ...created, endedBroadcastId };
  }
}
