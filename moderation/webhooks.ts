/**
 * Outbound webhooks: every audit-log entry is POSTed, in chain order, to each configured endpoint, signed so
 * the platform's other systems can trust it. Delivery tails the hash-chained log by position (`chain_seq`),
 * keeping a cursor per endpoint in `webhook_cursors`: at least once, in order, nothing skipped (a failing
 * endpoint is retried with exponential backoff and holds back later entries). The cursor row is locked
 * (`for update skip locked`) while a batch is sent, so with several API processes only one delivers to an
 * endpoint at a time.
 *
 * Signature (in the style of Stripe's and the Standard Webhooks headers): `warden-timestamp: <unix seconds>`,
 * `warden-signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`, `webhook-id: <chain position>`
 * (receivers drop repeats by it). Receivers check with {@link verifyWebhookSignature}.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import type { Db } from '../db/index.ts';

export interface WebhookDeps {
  db: Db;
  urls: string[];
  secret: string;
  logger: Logger;
  /** Poll interval when idle (ms). */
  pollMs?: number;
  /** Entries per batch. */
  batch?: number;
  fetch?: typeof fetch;
  /** Backoff bounds (ms): the delay doubles per consecutive failure from `minBackoffMs` up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** HMAC-SHA256 hex of `timestamp.body`. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/**
 * Checks a webhook on the receiving side.
 * @param header the `warden-signature` header (`v1=<hex>`; several comma-separated signatures are accepted during a secret rotation)
 * @param toleranceS how old (or far in the future) the timestamp may be, against replays (default 5 minutes)
 * @returns true when a signature matches and the timestamp is fresh.
 */
export function verifyWebhookSignature(secret: string, timestamp: string | number, body: string, header: string, toleranceS = 300, nowS = Date.now() / 1000): boolean {
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(nowS - ts) > toleranceS) return false;
  const expected = Buffer.from(webhookSignature(secret, ts, body), 'hex');
  return header.split(',').map((s) => s.trim()).filter((s) => s.startsWith('v1=')).some((s) => {
    const got = Buffer.from(s.slice(3), 'hex');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

type Entry = {
  id: number; chain_seq: number; action: string; actor_type: string; actor_id: string; subject_type: string; subject_id: string;
  broadcast_id: string | null; user_id: string | null; case_id: string | null; rule_id: string | null; policy_version: string | null;
  shadow: boolean; details: unknown; created_at: Date; hash: string;
};

/** Delivers the audit log to the configured endpoints. */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly deps: WebhookDeps) {}

  start(): void {
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      let busy = false;
      this.running = (async () => {
        for (const url of this.deps.urls) busy = (await this.deliver(url).catch((err) => { this.deps.logger.error({ err: errorText(err), url }, 'webhook delivery failed'); return 0; })) > 0 || busy;
      })();
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, busy ? 0 : this.deps.pollMs ?? 500);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Sends the next batch to one endpoint, in order, stopping at the first failure.
   * @returns how many entries were delivered.
   */
  async deliver(url: string): Promise<number> {
    if ((this.retryAt.get(url) ?? 0) > Date.now()) return 0;
    const { db } = this.deps;
    await db.execute(sql`insert into webhook_cursors (endpoint) values (${url}) on conflict do nothing`);
    return db.transaction(async (tx) => {
      const [cursor] = await tx.execute<{ last_seq: number; failures: number }>(sql`select last_seq, failures from webhook_cursors where endpoint = ${url} for update skip locked`);
      if (!cursor) return 0; // another process is delivering to this endpoint
      const entries = await tx.execute<Entry>(sql`select id, chain_seq, action, actor_type, actor_id, subject_type, subject_id, broadcast_id, user_id, case_id,
        rule_id, policy_version, shadow, details, created_at, hash from actions where chain_seq > ${Number(cursor.last_seq)} order by chain_seq limit ${this.deps.batch ?? 100}`);
      let delivered = 0;
      let lastSeq = Number(cursor.last_seq);
      let failure: string | null = null;
      for (const e of entries) {
        failure = await this.post(url, e);
        if (failure) break;
        delivered++;
        lastSeq = Number(e.chain_seq);
      }
      const failures = failure ? Number(cursor.failures) + 1 : 0;
      await tx.execute(sql`update webhook_cursors set last_seq = ${lastSeq}, failures = ${failures}, last_error = ${failure}, updated_at = now() where endpoint = ${url}`);
      if (failure) {
        const delay = Math.min(this.deps.maxBackoffMs ?? 300_000, (this.deps.minBackoffMs ?? 1000) * 2 ** (failures - 1));
        this.retryAt.set(url, Date.now() + delay);
        this.deps.logger.warn({ url, failures, retryInMs: delay, error: failure }, 'webhook endpoint failing; will retry');
      }
      return delivered;
    });
  }

  /** POSTs one entry. @returns null on a 2xx, else the problem. */
  private async post(url: string, e: Entry): Promise<string | null> {
    const body = JSON.stringify({
      id: Number(e.id), seq: Number(e.chain_seq), type: 'action', action: e.action, actorType: e.actor_type, actorId: e.actor_id,
      subjectType: e.subject_type, subjectId: e.subject_id, broadcastId: e.broadcast_id, userId: e.user_id, caseId: e.case_id,
      ruleId: e.rule_id, policyVersion: e.policy_version, shadow: e.shadow, details: e.details, createdAt: new Date(e.created_at).toISOString(), hash: e.hash,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await (this.deps.fetch ?? fetch)(url, {
        method: 'POST', body, signal: AbortSignal.timeout(10_000),
        headers: {
          'content-type': 'application/json', 'user-agent': 'warden-webhooks/1', 'webhook-id': String(e.chain_seq),
          'warden-timestamp': String(timestamp), 'warden-signature': `v1=${webhookSignature(this.deps.secret, timestamp, body)}`,
        },
      });
      await res.body?.cancel();
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return errorText(err);
    }
  }
}
