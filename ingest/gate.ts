/**
 * The publish gate: a publish is accepted only for a valid, unrevoked stream key whose owner is a performer
 * with an approved, unexpired verification and no active ban or suspension. It fails closed: when the
 * database cannot answer in time, the publish is refused.
 */
import { keyStanding, type Db } from '../db/index.ts';
import { errorText } from '../core/errors.ts';
import { randomUUID } from 'node:crypto';
import type { Enforcer } from '../moderation/index.ts';
import type { RetryWriter } from './retry-writer.ts';
import { hashStreamKey } from './stream-keys.ts';

export type RefusalReason = 'unknown_key' | 'revoked_key' | 'not_performer' | 'not_verified' | 'banned' | 'gate_unavailable';

/** The gate's answer. A refusal names its reason and, when the key is known, its owner. */
export type GateResult =
  | { accepted: true; userId: string; streamKeyId: string; handle: string }
  | { accepted: false; reason: RefusalReason; detail: string; userId?: string };

export class PublishGate {
  /** @param timeoutMs longest wait for the database before refusing (fail closed). */
  constructor(private readonly db: Db, private readonly timeoutMs = 3000) {}

  /** Decides a publish for a stream key. Never throws: any failure is a refusal. */
  async check(streamKey: string): Promise<GateResult> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from the database within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      const k = await Promise.race([keyStanding(this.db, hashStreamKey(streamKey)), timeout]);
      if (!k) return { accepted: false, reason: 'unknown_key', detail: 'no such stream key' };
      const who = { userId: k.userId };
      // a ban is named first: a banned performer's keys are also revoked, and the ban is the reason that matters
      if (k.banReason) return { accepted: false, reason: 'banned', detail: `active ban or suspension: ${k.banReason}`, ...who };
      if (k.revoked) return { accepted: false, reason: 'revoked_key', detail: 'the stream key was revoked', ...who };
      if (k.role !== 'performer') return { accepted: false, reason: 'not_performer', detail: `account role is ${k.role}`, ...who };
      if (!k.verified) return { accepted: false, reason: 'not_verified', detail: 'no approved, unexpired age/ID verification', ...who };
      return { accepted: true, userId: k.userId, streamKeyId: k.streamKeyId, handle: k.handle };
    } catch (err) {
      return { accepted: false, reason: 'gate_unavailable', detail: `publish gate failed closed: ${errorText(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The retry writer's lane of publish refusals' audit entries (one lane: they are independent of every broadcast's). */
const REFUSALS_LANE = 'publish-refusals';

/**
 * Audits a refused publish (who, if the key is known; why; from where; the path with the key cut to its prefix) through
 * `writer`, so a refusal while Postgres is away (the gate fails closed then) lands once it is back, exactly once (each
 * refusal gets its own idempotency id here). Used by the ingest node and by the media-server hook alike.
 */
export function auditPublishRefusal(
  writer: Pick<RetryWriter, 'submit'>, enforcer: Pick<Enforcer, 'recordPublishRefusal'>,
  r: { userId?: string; keyPrefix: string; reason: string; detail: string; ip: string; app: string },
): void {
  const entry = { id: randomUUID(), refusedAt: new Date(), userId: r.userId, keyPrefix: r.keyPrefix, reason: r.reason, detail: r.detail, ip: r.ip, streamPath: `/${r.app}/${r.keyPrefix}…` };
  void writer.submit(REFUSALS_LANE, `publish refusal (${r.reason})`, () => enforcer.recordPublishRefusal(entry));
}
