/**
 * Retention: what Warden takes from streams and chat is kept for a set time, then deleted in batches, oldest first,
 * every 10 minutes on each API node.
 *
 * - Samples (frames and audio chunks), `SAMPLE_RETENTION_DAYS` after capture: their files, rows, signals and
 *   transcripts. A sample that is evidence of a case stays while the case is unresolved and for
 *   `EVIDENCE_RETENTION_DAYS` after it was resolved (statements of reasons can be appealed); a kept duplicate keeps
 *   its original; evidence that goes leaves its evidence row, saying when.
 * - Chat messages, `CHAT_RETENTION_DAYS` after they were sent, except those a case joined or is about, kept like
 *   evidence. (A panic alert's case keeps its own copy of the chat before the press.)
 * - Sign-in sessions, `SESSION_RETENTION_DAYS` after they ended (expired or revoked): token hash, address, user agent.
 *
 * Broadcast rows, accounts, cases, statements and the audit log are kept; each batch deleted is one audit entry (how many,
 * from before when, under which retention).
 *
 * Why: at the default sampling a stream leaves a 30 KB JPEG every 2 s and, while transcribed, a 320 KB WAV every 8 s,
 * and a row per sample plus one per score: 100 streams write about 130 GB of frames and 5 million sample rows a day,
 * and a busy chat (20 messages a second) 1.7 million rows. Without a bound the data directory, then Postgres, fills
 * and the platform stops.
 *
 * Sample files go first, inside the batch's transaction: if the transaction then fails, its rows stay and point at
 * missing files, and the next sweep deletes them (`rm` ignores a missing file), so nothing is left behind either way.
 * Several nodes may sweep at once: each batch locks its rows with `skip locked`.
 */
import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import { errorText } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { Periodic } from '../core/periodic.ts';
import { appendAction, deleteEndedSessions, deleteExpiredChatMessages, deleteSamples, lockExpiredSamples, type Db, type Tx } from '../db/index.ts';

export interface RetentionDeps {
  db: Db;
  /** Absolute data directory; sample paths are relative to it (under `samples/`). */
  dataDir: string;
  retention: Config['retention'];
  logger: Logger;
  /** Counts what was deleted (`warden_retention_deleted_total`), if given. */
  metrics?: Pick<Metrics, 'retentionDeleted'>;
  /** Samples, chat messages or sessions per transaction (default 1,000). */
  batch?: number;
  /** The clock (tests). */
  now?: () => Date;
}

/** What one sweep deleted: samples (and how many of them had a file), chat messages, sessions, in how many batches. */
export interface RetentionOutcome { samples: number; files: number; chatMessages: number; sessions: number; batches: number }

/** Deletes expired samples, chat messages and sessions (see the module comment); {@link Retention.start} runs it every `intervalMs`. */
export class Retention extends Periodic {
  private stopping = false;

  constructor(private readonly deps: RetentionDeps, intervalMs = 10 * 60_000) {
    super(async () => {
      try {
        await this.sweep();
      } catch (err) {
        deps.logger.error({ err: errorText(err) }, 'retention sweep failed');
      }
    }, intervalMs);
  }

  /**
   * One sweep: samples, then chat messages, then sessions, each until none is left (or {@link stop} is called: the
   * batch in progress finishes). A retention of 0 days keeps that kind forever.
   * @throws the database's error (what earlier batches deleted stays deleted).
   */
  async sweep(): Promise<RetentionOutcome> {
    const samples = await this.sweepSamples();
    const chat = await this.sweepChat();
    const sessions = await this.sweepSessions();
    return { ...samples, chatMessages: chat.chatMessages, sessions: sessions.count, batches: samples.batches + chat.batches + sessions.batches };
  }

  private async sweepSamples(): Promise<{ samples: number; files: number; batches: number }> {
    const { retention, logger } = this.deps;
    if (retention.samplesMs <= 0) return { samples: 0, files: 0, batches: 0 };
    const now = this.now();
    const capturedBefore = new Date(now - retention.samplesMs);
    const evidenceResolvedBefore = new Date(now - retention.evidenceMs);
    const samplesRoot = path.resolve(this.deps.dataDir, 'samples');
    const folders = new Set<string>();
    let files = 0;
    const { count, batches } = await this.inBatches(async (tx, limit) => {
      const rows = await lockExpiredSamples(tx, capturedBefore, evidenceResolvedBefore, limit);
      if (rows.length === 0) return 0;
      let removed = 0;
      for (const r of rows) {
        if (!r.filePath) continue;
        const file = path.resolve(this.deps.dataDir, r.filePath);
        // written by the ingest node from ids and sequence numbers; anything else is not ours to delete
        if (!file.startsWith(samplesRoot + path.sep)) {
          logger.warn({ sampleId: r.id }, 'sample file outside the samples folder: row deleted, file left alone');
          continue;
        }
        await rm(file, { force: true });
        folders.add(path.dirname(file));
        removed++;
      }
      const deleted = await deleteSamples(tx, rows.map((r) => r.id));
      await appendAction(tx, {
        action: 'expire_samples', actorType: 'system', actorId: 'retention', subjectType: 'samples', subjectId: `captured-before/${capturedBefore.toISOString()}`,
        details: { samples: deleted, files: removed, capturedBefore: capturedBefore.toISOString(), retentionDays: days(retention.samplesMs), evidenceRetentionDays: days(retention.evidenceMs) },
      });
      return { n: deleted, after: () => { files += removed; this.count('sample_files', removed); } };
    });
    // a broadcast's folder goes once its last sample has (a folder still written to is made again by the recorder)
    for (const dir of folders) await rmdir(dir).catch(() => {});
    this.count('samples', count);
    if (count) logger.info({ samples: count, files, batches, capturedBefore: capturedBefore.toISOString() }, 'samples deleted after retention');
    return { samples: count, files, batches };
  }

  private async sweepChat(): Promise<{ chatMessages: number; batches: number }> {
    const { retention, logger } = this.deps;
    if (retention.chatMs <= 0) return { chatMessages: 0, batches: 0 };
    const now = this.now();
    const sentBefore = new Date(now - retention.chatMs);
    const caseResolvedBefore = new Date(now - retention.evidenceMs);
    const { count, batches } = await this.inBatches(async (tx, limit) => {
      const deleted = await deleteExpiredChatMessages(tx, sentBefore, caseResolvedBefore, limit);
      if (deleted) {
        await appendAction(tx, {
          action: 'expire_chat_messages', actorType: 'system', actorId: 'retention', subjectType: 'chat_messages', subjectId: `sent-before/${sentBefore.toISOString()}`,
          details: { chatMessages: deleted, sentBefore: sentBefore.toISOString(), retentionDays: days(retention.chatMs), evidenceRetentionDays: days(retention.evidenceMs) },
        });
      }
      return deleted;
    });
    this.count('chat_messages', count);
    if (count) logger.info({ chatMessages: count, batches, sentBefore: sentBefore.toISOString() }, 'chat messages deleted after retention');
    return { chatMessages: count, batches };
  }

  private async sweepSessions(): Promise<{ count: number; batches: number }> {
    const { retention, logger } = this.deps;
    if (retention.sessionsMs <= 0) return { count: 0, batches: 0 };
    const endedBefore = new Date(this.now() - retention.sessionsMs);
    const out = await this.inBatches(async (tx, limit) => {
      const deleted = await deleteEndedSessions(tx, endedBefore, limit);
      if (deleted) {
        await appendAction(tx, {
          action: 'expire_sessions', actorType: 'system', actorId: 'retention', subjectType: 'sessions', subjectId: `ended-before/${endedBefore.toISOString()}`,
          details: { sessions: deleted, endedBefore: endedBefore.toISOString(), retentionDays: days(retention.sessionsMs) },
        });
      }
      return deleted;
    });
    this.count('sessions', out.count);
    if (out.count) logger.info({ sessions: out.count, batches: out.batches, endedBefore: endedBefore.toISOString() }, 'ended sessions deleted after retention');
    return out;
  }

  /**
   * Runs `step` (deleting at most `limit` rows) a transaction at a time until it deletes fewer than `limit` or stop() is
   * called. A step returns the rows it deleted, or those with what to count once its transaction has committed.
   */
  private async inBatches(step: (tx: Tx, limit: number) => Promise<number | { n: number; after: () => void }>): Promise<{ count: number; batches: number }> {
    const limit = this.deps.batch ?? 1000;
    let count = 0;
    let batches = 0;
    while (!this.stopping) {
      const r = await this.deps.db.transaction((tx) => step(tx, limit));
      const n = typeof r === 'number' ? r : r.n;
      if (typeof r !== 'number') r.after();
      if (n === 0) break;
      count += n;
      batches++;
      if (n < limit) break;
    }
    return { count, batches };
  }

  private count(kind: 'samples' | 'sample_files' | 'chat_messages' | 'sessions', n: number): void {
    if (n > 0) this.deps.metrics?.retentionDeleted.inc({ kind }, n);
  }

  private now(): number {
    return (this.deps.now ?? (() => new Date()))().getTime();
  }

  /** Stops the timer; a sweep in progress finishes its batch and returns. */
  override async stop(): Promise<void> {
    this.stopping = true;
    await super.stop();
  }
}

function days(ms: number): number {
  return Math.round((ms / 86_400_000) * 100) / 100;
}
