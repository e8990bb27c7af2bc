/**
 * The `analyze-frame` job: score one frame sample with the frame model (and, on the frames it is due for, the
 * live face check) and write its signals in one statement.
 * Idempotent: an analysed or failed sample is not scored again (a retried job only re-queues its evaluation).
 * A corrupt or missing image marks the sample failed with its error; the worker goes on.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { errorText } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { getSample, markSampleFailed, recordSignals, type Db, type SignalInput } from '../../db/index.ts';
import type { MicroBatcher } from '../batcher.ts';
import type { FrameResult, FrameClassifier } from '../frame-model.ts';
import type { JobPayloads, Queues } from '../jobs.ts';
import type { LiveFaceCheck } from '../faces/index.ts';

/** What one job did, reported to the parent process for metrics. */
export interface FrameOutcome { ok: boolean; backend: string; signals: number; faceSignals?: number; latencyMs: number }

export interface FrameProcessorDeps {
  db: Db;
  queues: Queues;
  dataDir: string;
  classifier: Pick<FrameClassifier, 'backend' | 'model' | 'modelVersion'>;
  batcher: MicroBatcher<Buffer, FrameResult>;
  /** The live face check (count, age, match with the verified performer) on the frames it is due for; absent: none. */
  faces?: Pick<LiveFaceCheck, 'due' | 'check'>;
  logger: Logger;
  onOutcome?: (o: FrameOutcome) => void;
}

/** Builds the processor function for the `frames` queue. */
export function createFrameProcessor(deps: FrameProcessorDeps) {
  const { db, queues, dataDir, classifier, batcher, logger } = deps;
  return async function processFrame(job: Job<JobPayloads['analyze-frame']>): Promise<void> {
    const sample = await getSample(db, job.data.sampleId);
    if (!sample) throw new UnrecoverableError(`no sample ${job.data.sampleId}`);
    if (sample.status === 'queued') {
      let result: FrameResult;
      let image: Buffer | null = null;
      try {
        // filePath is written by the tap from ids and sequence numbers, never from user input
        image = await readFile(path.join(dataDir, sample.filePath));
        result = await batcher.push(image);
      } catch (err) {
        result = { ok: false, error: `cannot read sample image: ${errorText(err)}` };
      }
      if (result.ok) {
        const rows: SignalInput[] = Object.entries(result.scores).map(([label, score]) => ({
          analyzer: 'nsfw', label, score, model: classifier.model, modelVersion: classifier.modelVersion, backend: classifier.backend,
        }));
        // the face cascade (detector, then age and descriptor models only on faces found), at its own lower rate
        const face = deps.faces && image && deps.faces.due(sample.seq) ? await deps.faces.check(sample, image) : [];
        const wrote = await recordSignals(db, sample, [...rows, ...face]);
        // which process analysed which sample (pid in every line): how the load spread across worker processes
        logger.debug({ sampleId: sample.id, broadcastId: sample.broadcastId, wrote }, 'frame analysed');
        deps.onOutcome?.({ ok: true, backend: classifier.backend, signals: wrote ? rows.length : 0, faceSignals: wrote ? face.length : 0, latencyMs: Date.now() - sample.capturedAt.getTime() });
      } else {
        await markSampleFailed(db, sample.id, result.error);
        logger.warn({ sampleId: sample.id, broadcastId: sample.broadcastId, error: result.error }, 'frame analysis failed');
        deps.onOutcome?.({ ok: false, backend: classifier.backend, signals: 0, latencyMs: Date.now() - sample.capturedAt.getTime() });
      }
    }
    await queues.add('evaluate-sample', { sampleId: sample.id, cascade: true });
  };
}
