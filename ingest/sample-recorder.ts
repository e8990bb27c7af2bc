/**
 * Where a tap's output becomes samples: each sampled keyframe and each audio chunk gets its file under
 * `DATA_DIR/samples/<broadcast id>/`, its row and, when it is to be analysed, its job. Rows and jobs go through the
 * ingest node's {@link RetryWriter} (in order per broadcast, retried while Postgres or Redis is away), so a sample
 * taken during an outage lands once the stores are back. Adaptive sampling (ingest/sampling.ts) decides what is shed
 * and the jobs' priority; the recorder writes down what it decided, with the reason.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import type { Metrics } from '../core/metrics.ts';
import { addDuplicateFrames, insertSample, type Db } from '../db/index.ts';
import type { Queues } from '../analyzer/jobs.ts';
import { encodeWav } from '../analyzer/audio/index.ts';
import { dHash, hammingDistance } from './phash.ts';
import type { RetryWriter } from './retry-writer.ts';
import type { SamplingController } from './sampling.ts';
import type { AudioChunk, TapFrame } from './tap.ts';

/** One broadcast's sample series as the recorder keeps it (the ingest node's live broadcast carries these fields). */
export interface SampleSeries {
  broadcastId: string;
  /** Added to the tap's frame and audio sequence numbers: what earlier taps of this broadcast used up. */
  seqBase: { frame: number; audio: number };
  /** The next unused sequence number of each kind. */
  seqNext: { frame: number; audio: number };
  /**
   * Hash of the last frame sent for analysis (duplicates are compared with it), and its sample id once its row
   * landed (rows land in order, so a duplicate's row always finds it; see {@link RetryWriter}).
   */
  lastHash?: string;
  lastSampleId?: string;
  /** The broadcast ended: frames still coming out of the tap are not stored (its last audio chunk is). */
  closed: boolean;
}

export interface SampleRecorderDeps {
  db: Db;
  queues: Queues;
  config: Pick<Config, 'dataDir' | 'tap'>;
  metrics: Metrics;
  sampling: Pick<SamplingController, 'frameVerdict' | 'audioVerdict' | 'priorityOf'>;
  writer: RetryWriter;
}

/** Stores a broadcast's frames and audio chunks as samples (see the module comment). */
export class SampleRecorder {
  constructor(private readonly deps: SampleRecorderDeps) {}

  /**
   * Stores a sampled frame: its file now, then its row and its job (or, for a duplicate of the last frame sent for
   * analysis, a duplicate row and an evaluation; for a frame shed as a last resort, a `skipped` row with the reason
   * and no file).
   * @throws Error when the frame's file cannot be written (the tap logs it; nothing of the frame is stored).
   */
  async frame(b: SampleSeries, f: TapFrame): Promise<void> {
    if (b.closed) return;
    const { db, queues, config, metrics, writer } = this.deps;
    const seq = b.seqBase.frame + f.seq; // continues across reconnects
    b.seqNext.frame = Math.max(b.seqNext.frame, seq + 1);
    const hash = await dHash(f.jpeg);
    const duplicate = b.lastHash !== undefined && hammingDistance(hash, b.lastHash) <= config.tap.duplicateMaxDistance;
    // adaptive sampling's last resort: while the analyzer is far behind, frames of broadcasts without priority are skipped
    const shed = duplicate ? null : this.deps.sampling.frameVerdict(b.broadcastId);
    if (shed) {
      writer.submit(b.broadcastId, `frame ${seq} of ${b.broadcastId}`, async () => {
        const sample = await insertSample(db, { broadcastId: b.broadcastId, kind: 'frame', seq, capturedAt: f.capturedAt, filePath: '', width: f.width, height: f.height, phash: hash, status: 'skipped', error: shed });
        if (sample.inserted) {
          metrics.samples.inc({ kind: 'frame', status: 'skipped' });
          metrics.samplesShed.inc({ kind: 'frame', reason: 'frames_backlog' });
        }
      });
      return;
    }
    if (!duplicate) b.lastHash = hash;
    const rel = await this.writeSampleFile(b.broadcastId, `${String(seq).padStart(7, '0')}.jpg`, f.jpeg);
    writer.submit(b.broadcastId, `frame ${seq} of ${b.broadcastId}`, async () => {
      // the original's row landed before this one (same lane); without it (dropped), this frame is analysed itself
      const duplicateOf = duplicate ? b.lastSampleId : undefined;
      const sample = await insertSample(db, {
        broadcastId: b.broadcastId, kind: 'frame', seq, capturedAt: f.capturedAt, filePath: rel,
        width: f.width, height: f.height, phash: hash,
        status: duplicateOf ? 'duplicate' : 'queued', duplicateOf: duplicateOf ?? null,
      });
      if (duplicateOf) {
        if (sample.inserted) await addDuplicateFrames(db, b.broadcastId);
        await queues.add('evaluate-sample', { sampleId: sample.id });
        if (sample.inserted) metrics.samples.inc({ kind: 'frame', status: 'duplicate' });
      } else {
        b.lastSampleId = sample.id;
        await queues.add('analyze-frame', { sampleId: sample.id }, this.jobOptions(b));
        if (sample.inserted) metrics.samples.inc({ kind: 'frame', status: 'queued' });
      }
    });
  }

  /**
   * Stores an audio chunk: with speech, its WAV file, a sample row and a transcription job; without, a `silent` row
   * only (nothing to transcribe); while transcription is behind and the broadcast has no turn, a `skipped` row with
   * the reason and no file. Also runs for the last chunk flushed after the broadcast closed: what was said just before
   * the end counts too.
   * @throws Error when the chunk's file cannot be written (the tap logs it).
   */
  async audio(b: SampleSeries, c: AudioChunk): Promise<void> {
    const { db, queues, metrics, writer } = this.deps;
    const seq = b.seqBase.audio + c.seq; // continues across reconnects
    b.seqNext.audio = Math.max(b.seqNext.audio, seq + 1);
    const silent = !c.activity.speech;
    // adaptive sampling: while transcription is behind, the chunks of broadcasts without a turn are skipped, with the reason
    const shed = silent ? null : this.deps.sampling.audioVerdict(b.broadcastId);
    const rel = !silent && !shed ? await this.writeSampleFile(b.broadcastId, `audio-${String(seq).padStart(7, '0')}.wav`, encodeWav(c.pcm)) : '';
    writer.submit(b.broadcastId, `audio ${seq} of ${b.broadcastId}`, async () => {
      const sample = await insertSample(db, {
        broadcastId: b.broadcastId, kind: 'audio', seq, capturedAt: c.startedAt, filePath: rel,
        durationMs: c.durationMs, overlapMs: c.overlapMs, status: silent ? 'silent' : shed ? 'skipped' : 'queued', error: shed,
      });
      if (rel) await queues.add('transcribe-audio', { sampleId: sample.id }, this.jobOptions(b));
      if (sample.inserted) metrics.samples.inc({ kind: 'audio', status: silent ? 'silent' : shed ? 'skipped' : 'queued' });
      if (sample.inserted && shed) metrics.samplesShed.inc({ kind: 'audio', reason: 'audio_backlog' });
    });
  }

  /** BullMQ options of a sample's job: its priority from adaptive sampling (none for urgent broadcasts: they go first). */
  private jobOptions(b: SampleSeries): { priority?: number } {
    const priority = this.deps.sampling.priorityOf(b.broadcastId);
    return priority > 0 ? { priority } : {};
  }

  /**
   * Writes a sample's file under `samples/<broadcast id>/` (the name is built from the sequence number, never from
   * user input) and returns its path relative to the data directory. The folder is created when a write finds it
   * missing, not before every write (two system calls per sample saved; a folder removed meanwhile is made again).
   */
  private async writeSampleFile(broadcastId: string, name: string, data: Buffer): Promise<string> {
    const rel = path.join('samples', broadcastId, name);
    const file = path.join(this.deps.config.dataDir, rel);
    try {
      await writeFile(file, data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, data);
    }
    return rel;
  }
}
