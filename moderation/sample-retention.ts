/**
 * Sample retention: frames and audio chunks are kept `SAMPLE_RETENTION_DAYS` after capture, then their files, rows,
 * signals and transcripts are deleted, in batches, oldest first. A sample that is evidence of a case stays while the
 * case is unresolved and for `EVIDENCE_RETENTION_DAYS` after it was resolved (statements of reasons can be appealed);
 * a kept duplicate keeps its original. Broadcast rows, cases, chat and the audit log are not touched; each batch
 * deleted is one audit entry (how many, captured before when, under which retention).
 *
 * Why: at the default sampling a stream leaves a 30 KB JPEG every 2 s and, while transcribed, a 320 KB WAV every 8 s,
 * and a row per sample plus one per score: 100 streams write about 130 GB of frames and 5 million sample rows a day.
 * Without a bound the data directory, then Postgres, fills and the platform stops.
 *
 * Files go first, inside the batch's transaction: if the transaction then fails, its rows stay and point at missing
 * files, and the next sweep deletes them (`rm` ignores a missing file), so nothing is left behind either way. Several
 * nodes may sweep at once: each batch locks its rows with `skip locked`.
 */
import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import { errorText } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { Periodic } from '../core/periodic.ts';
import { appendAction, deleteSamples, lockExpiredSamples, type Db } from '../db/index.ts';

export interface SampleRetentionDeps {
  db: Db;
  /** Absolute data directory; sample paths are relative to it (under `samples/`). */
  dataDir: string;
  retention: Config['retention'];
  logger: Logger;
  /** Samples per transaction (default 1,000). */
  batch?: number;
  /** The clock (tests). */
  now?: () => Date;
}

/** What one sweep deleted. */
export interface RetentionOutcome { samples: number; files: number; batches: number }

/** Deletes expired samples (see the module comment); {@link SampleRetention.start} runs it every `intervalMs`. */
export class SampleRetention extends Periodic {
  private stopping = false;

  constructor(private readonly deps: SampleRetentionDeps, intervalMs = 10 * 60_000) {
    super(async () => {
      try {
        await this.sweep();
      } catch (err) {
        deps.logger.error({ err: errorText(err) }, 'sample retention sweep failed');
      }
    }, intervalMs);
  }

  /**
   * Deletes every expired sample, a batch per transaction, until none is left (or {@link stop} is called: the
   * batch in progress finishes). Does nothing when `retention.samplesMs` is 0.
   * @throws the database's error (what earlier batches deleted stays deleted).
   */
  async sweep(): Promise<RetentionOutcome> {
    const { db, retention, logger } = this.deps;
    const out: RetentionOutcome = { samples: 0, files: 0, batches: 0 };
    if (retention.samplesMs <= 0) return out;
    const batch = this.deps.batch ?? 1000;
    const now = (this.deps.now ?? (() => new Date()))().getTime();
    const capturedBefore = new Date(now - retention.samplesMs);
    const evidenceResolvedBefore = new Date(now - retention.evidenceMs);
    const samplesRoot = path.resolve(this.deps.dataDir, 'samples');
    const folders = new Set<string>();
    while (!this.stopping) {
      const n = await db.transaction(async (tx) => {
        const rows = await lockExpiredSamples(tx, capturedBefore, evidenceResolvedBefore, batch);
        if (rows.length === 0) return { samples: 0, files: 0 };
        let files = 0;
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
          files++;
        }
        const deleted = await deleteSamples(tx, rows.map((r) => r.id));
        await appendAction(tx, {
          action: 'expire_samples', actorType: 'system', actorId: 'retention', subjectType: 'samples', subjectId: `captured-before/${capturedBefore.toISOString()}`,
          details: { samples: deleted, files, capturedBefore: capturedBefore.toISOString(), retentionDays: days(retention.samplesMs), evidenceRetentionDays: days(retention.evidenceMs) },
        });
        return { samples: deleted, files };
      });
      if (n.samples === 0) break;
      out.samples += n.samples;
      out.files += n.files;
      out.batches++;
      if (n.samples < batch) break;
    }
    // a broadcast's folder goes once its last sample has (a folder still written to is made again by the recorder)
    for (const dir of folders) await rmdir(dir).catch(() => {});
    if (out.samples) logger.info({ ...out, capturedBefore: capturedBefore.toISOString() }, 'samples deleted after retention');
    return out;
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
