/**
 * BullMQ workers. Frame analysis is CPU-heavy: it runs in worker processes (one per core by default, each
 * with its own model, since the wasm backend's threads are not available in Node), or in-process when
 * WORKER_PROCESSES=0. Rules evaluation is light and runs in the main process.
 */
import { Worker, type ConnectionOptions, type Processor } from 'bullmq';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import type { Config } from '../core/config.ts';
import type { Db } from '../db/index.ts';
import { MicroBatcher } from './batcher.ts';
import { FaceAnalyzer, LiveFaceCheck } from './faces/index.ts';
import type { FrameClassifier, FrameResult } from './frame-model.ts';
import { createClassifier } from './classifiers.ts';
import type { Queues } from './jobs.ts';
import { createFrameProcessor, type FrameOutcome } from './processors/analyze-frame.ts';

/** A running worker that can be closed. */
export interface Closable { close(): Promise<void> }

/**
 * Starts a BullMQ worker with autorun off, then runs it (STYLE: workers are started explicitly).
 * `close()` waits for active jobs, but never longer than `closeTimeoutMs` (BullMQ's close has no timeout).
 */
export function runWorker(queue: string, processor: Processor, opts: { connection: ConnectionOptions; prefix: string; concurrency: number; logger: Logger; closeTimeoutMs?: number }): Closable & { worker: Worker } {
  const worker = new Worker(queue, processor, { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency, autorun: false });
  worker.on('failed', (job, err) => opts.logger.warn({ queue, jobId: job?.id, attempts: job?.attemptsMade, err: errorText(err) }, 'job failed'));
  worker.on('error', (err) => opts.logger.error({ queue, err: errorText(err) }, 'worker error'));
  void worker.run().catch((err) => opts.logger.error({ queue, err: errorText(err) }, 'worker stopped'));
  return {
    worker,
    async close() {
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.closeTimeoutMs ?? 10_000).unref());
      if ((await Promise.race([worker.close(), timeout])) === 'timeout') {
        opts.logger.warn({ queue }, 'worker did not close in time; forcing');
        await worker.close(true);
      }
    },
  };
}

/** A frame worker in this process: the model, a micro-batcher and the `frames` queue consumer. */
export async function startFrameWorker(deps: {
  config: Config; db: Db; queues: Queues; connection: ConnectionOptions; logger: Logger; onOutcome?: (o: FrameOutcome) => void;
}): Promise<Closable & { classifier: FrameClassifier }> {
  const { config, logger } = deps;
  const classifier = await createClassifier({ backend: config.analyzer.frameBackend, onnxThreads: config.analyzer.onnxThreads, modelCacheDir: config.analyzer.modelCacheDir, logger });
  const batchSize = config.analyzer.frameBatchSize;
  const batcher = new MicroBatcher<Buffer, FrameResult>({ maxBatch: batchSize, maxWaitMs: 15, run: (images) => classifier.classify(images) });
  // the face models share the TensorFlow.js backend the frame model just chose
  const faces = config.analyzer.faceEveryN > 0
    ? new LiveFaceCheck({
      db: deps.db, analyzer: await FaceAnalyzer.load(), everyN: config.analyzer.faceEveryN, ageMargin: config.analyzer.faceAgeMargin,
      key: config.dataKey, matchMaxDistance: config.verification.matchMaxDistance, backend: classifier.backend, logger,
    })
    : undefined;
  const processor = createFrameProcessor({ db: deps.db, queues: deps.queues, dataDir: config.dataDir, classifier, batcher, faces, logger, onOutcome: deps.onOutcome });
  // concurrency of twice the batch size keeps one batch filling while the model runs the other
  const w = runWorker('frames', processor, { connection: deps.connection, prefix: config.redisPrefix, concurrency: batchSize * 2, logger });
  logger.info({ backend: classifier.backend, model: `${classifier.model}@${classifier.modelVersion}`, batchSize, facesEveryN: config.analyzer.faceEveryN }, 'frame worker ready');
  return {
    classifier,
    async close() {
      await w.close();
      await batcher.close();
      classifier.dispose();
    },
  };
}
