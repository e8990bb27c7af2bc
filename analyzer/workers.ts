/**
 * BullMQ workers. Frame analysis is CPU-heavy: it runs in worker processes (one per core by default, each
 * with its own model, since the wasm backend's threads are not available in Node), or in-process when
 * WORKER_PROCESSES=0. Rules evaluation is light and runs in the main process.
 *
 * Faults:
 * - A worker that dies mid-job (kill -9, a lost node) stops renewing its jobs' locks; they expire after
 *   {@link WORKER_LOCK_MS} and the stalled check of any live worker (every {@link STALLED_CHECK_MS}) puts them back
 *   in the queue, so they are analysed again within about 15 s (handlers are idempotent).
 * - While PostgreSQL is unavailable a job is not failed (which would use up its attempts in seconds): it is put
 *   back, delayed by {@link OUTAGE_RETRY_MS}, without counting an attempt, for up to {@link OUTAGE_GIVE_UP_MS}.
 * - {@link WorkerWatchdog}: a worker can sit idle after a Redis outage while looking healthy. The watchdog judges
 *   progress (a job started, completed or failed, or the queue found empty), not a ping: when jobs have waited
 *   longer than `stuckMs` and a consumer made no progress in that time, it is recreated (new connections), and
 *   `/readyz` says so meanwhile.
 */
import os from 'node:os';
import { DelayedError, Worker, type ConnectionOptions, type Job, type Processor } from 'bullmq';
import type { Logger } from '../core/logger.ts';
import { errorText, isDatabaseUnavailable } from '../core/errors.ts';
import type { Config } from '../core/config.ts';
import type { Db } from '../db/index.ts';
import { MicroBatcher } from './batcher.ts';
import type { FrameClassifier, FrameResult } from './frame-model.ts';
import type { Queues } from './jobs.ts';
import { createFrameProcessor, type FrameOutcome } from './processors/analyze-frame.ts';

/** A running worker that can be closed. */
export interface Closable { close(): Promise<void> }

/** How long a job's lock lasts without renewal (a live worker renews it every half of this), in ms. */
export const WORKER_LOCK_MS = 10_000;
/** How often each worker looks for jobs whose lock expired (their worker died) and puts them back, in ms. */
export const STALLED_CHECK_MS = 5_000;
/** Times a job may be put back after its worker died before it fails ("stalled more than allowable limit"). */
const MAX_STALLED = 3;
/** Delay before a job that met an unavailable database runs again, in ms (plus up to 50% jitter). */
export const OUTAGE_RETRY_MS = 2_000;
/** A job queued longer ago than this fails normally even when the database is unavailable, in ms. */
export const OUTAGE_GIVE_UP_MS = 60 * 60_000;

/**
 * Wraps a processor so that a job meeting an unavailable database ({@link isDatabaseUnavailable}) is moved back
 * to the delayed set (no attempt used) instead of failing; other errors fail the job as before.
 */
export function retryWhileDatabaseUnavailable(processor: Processor, logger: Logger, queue: string): Processor {
  let warnedAt = 0;
  return async function processWithOutageRetry(job: Job, token?: string) {
    try {
      return await processor(job, token);
    } catch (err) {
      if (!token || !isDatabaseUnavailable(err) || Date.now() - job.timestamp > OUTAGE_GIVE_UP_MS) throw err;
      if (Date.now() - warnedAt > 5000) {
        warnedAt = Date.now();
        logger.warn({ queue, jobId: job.id, err: errorText(err) }, 'database unavailable: jobs put back until it returns');
      }
      await job.moveToDelayed(Date.now() + OUTAGE_RETRY_MS * (1 + Math.random() / 2), token);
      throw new DelayedError();
    }
  };
}

/** Options of {@link runWorker}. */
export interface RunWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  logger: Logger;
  /** Longest wait for active jobs when closing (default 10 s); then the worker is closed by force. */
  closeTimeoutMs?: number;
}

/**
 * A BullMQ worker on one queue that can be recreated (new Worker, new connections) when it is stuck; it records
 * its last progress (a job started, completed or failed, or the queue found empty) for {@link WorkerWatchdog}.
 */
export class QueueWorker implements Closable, WatchedConsumer {
  private current: Worker;
  /** Jobs the current worker is running (its processor entered and not yet returned). */
  private running = { jobs: 0 };
  private progressAt = Date.now();
  private closed = false;
  /** Times {@link recreate} replaced the worker. */
  recreated = 0;

  constructor(readonly queue: string, private readonly processor: Processor, private readonly opts: RunWorkerOptions) {
    this.current = this.create();
  }

  /** The BullMQ worker running now (replaced by {@link recreate}). */
  get worker(): Worker {
    return this.current;
  }

  lastProgressAt(): number {
    return this.progressAt;
  }

  busy(): boolean {
    return this.running.jobs > 0;
  }

  private create(): Worker {
    const { queue, opts } = this;
    const running = { jobs: 0 };
    this.running = running;
    const processor = retryWhileDatabaseUnavailable(this.processor, opts.logger, queue);
    const counted: Processor = async (job, token) => {
      running.jobs++;
      try {
        return await processor(job, token);
      } finally {
        running.jobs--;
      }
    };
    const worker = new Worker(queue, counted, {
      connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency, autorun: false,
      lockDuration: WORKER_LOCK_MS, stalledInterval: STALLED_CHECK_MS, maxStalledCount: MAX_STALLED,
      name: `${os.hostname()}:${process.pid}`,
    });
    const progress = () => { if (this.current === worker) this.progressAt = Date.now(); };
    worker.on('active', progress);
    worker.on('completed', progress);
    worker.on('drained', progress);
    worker.on('failed', (job, err) => {
      progress();
      opts.logger.warn({ queue, jobId: job?.id, attempts: job?.attemptsMade, err: errorText(err) }, 'job failed');
    });
    worker.on('error', (err) => opts.logger.error({ queue, err: errorText(err) }, 'worker error'));
    void worker.run().catch((err) => opts.logger.error({ queue, err: errorText(err) }, 'worker stopped'));
    return worker;
  }

  /**
   * Replaces the worker with a new one (its own new connections); the old one is closed by force in the
   * background (its active jobs lose their locks and are put back by the stalled check).
   */
  async recreate(reason: string): Promise<void> {
    if (this.closed) return;
    const old = this.current;
    this.recreated++;
    this.progressAt = Date.now();
    this.current = this.create();
    this.opts.logger.warn({ queue: this.queue, reason, recreated: this.recreated }, 'worker recreated');
    await Promise.race([old.close(true), new Promise((r) => setTimeout(r, 5000).unref())])
      .catch((err) => this.opts.logger.warn({ queue: this.queue, err: errorText(err) }, 'stuck worker did not close cleanly'));
  }

  /** Waits for active jobs, but never longer than `closeTimeoutMs` (BullMQ's close has no timeout). */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.current;
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), this.opts.closeTimeoutMs ?? 10_000).unref());
    if ((await Promise.race([worker.close(), timeout])) === 'timeout') {
      this.opts.logger.warn({ queue: this.queue }, 'worker did not close in time; forcing');
      await worker.close(true);
    }
  }
}

/**
 * Starts a BullMQ worker with autorun off, then runs it (STYLE: workers are started explicitly), with the lock,
 * stall and database-outage settings above. `close()` waits for active jobs, but never longer than `closeTimeoutMs`.
 */
export function runWorker(queue: string, processor: Processor, opts: RunWorkerOptions): QueueWorker {
  return new QueueWorker(queue, processor, opts);
}

/** Something consuming a queue that the watchdog judges and can recreate (a worker here, a worker process). */
export interface WatchedConsumer {
  readonly queue: string;
  /** When it last showed progress (ms since the epoch): a job started, completed or failed, or the queue found empty. */
  lastProgressAt(): number;
  /** Whether it is running a job now (then it is judged against the longer `busyStuckMs`: a job may be slow). */
  busy(): boolean;
  /** Replaces it (new connections; a worker process is killed and restarted). */
  recreate(reason: string): Promise<void>;
}

/** A queue's health as {@link WorkerWatchdog.health} reports it (`/readyz`). */
export interface QueueHealth {
  /** False when every consumer of it here is stuck: jobs have waited longer than its limit and it made no progress in that time. */
  ok: boolean;
  /** Jobs ready to run (waiting or prioritized; delayed ones are not counted). */
  waiting: number;
  /** Seconds since jobs started waiting (0 when none wait). */
  waitingS: number;
  /** Seconds since the consumer here that progressed last did so. */
  sinceProgressS: number;
  /** Consumers recreated by the watchdog so far. */
  recreated: number;
  error?: string;
}

/**
 * Watches the queues this process consumes: every `stuckMs / 4` it counts each queue's ready jobs and recreates a
 * consumer that made no progress (no job started, completed or failed) for its limit while jobs kept waiting all that
 * time: `stuckMs` for an idle consumer (the BullMQ worker that sits idle after a Redis outage), `busyStuckMs` (default
 * 5 × stuckMs) for one running a job (a slow job under CPU pressure is not a stuck worker; a hung one is). {@link health}
 * answers the same question per queue for `/readyz`. A count that fails (Redis unavailable) judges nothing.
 */
export class WorkerWatchdog {
  private readonly consumers: WatchedConsumer[] = [];
  private readonly waitingSince = new Map<string, number>();
  private readonly recreated = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  private readonly busyStuckMs: number;

  /** `onRecreate`: told each time a stuck consumer is recreated (metrics). */
  constructor(private readonly deps: { queues: Queues; stuckMs: number; busyStuckMs?: number; logger: Logger; onRecreate?: (queue: string) => void }) {
    this.busyStuckMs = deps.busyStuckMs ?? deps.stuckMs * 5;
  }

  /** Whether a consumer is stuck: jobs waiting since `since` and no progress from it, both for longer than its limit. */
  private stuck(c: WatchedConsumer, since: number | undefined, now: number): boolean {
    const limit = c.busy() ? this.busyStuckMs : this.deps.stuckMs;
    return since !== undefined && now - since > limit && now - c.lastProgressAt() > limit;
  }

  /** Adds a consumer to watch. */
  watch(...consumers: WatchedConsumer[]): void {
    this.consumers.push(...consumers);
  }

  start(): void {
    this.timer = setInterval(() => { this.busy ??= this.tick().finally(() => { this.busy = undefined; }); }, Math.max(250, this.deps.stuckMs / 4));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  /** Ready jobs per watched queue (waiting + prioritized), or an error; at most 2 s. */
  private async counts(): Promise<Map<string, number | Error>> {
    const names = [...new Set(this.consumers.map((c) => c.queue))];
    const out = new Map<string, number | Error>();
    await Promise.all(names.map(async (name) => {
      const queue = name === 'frames' ? this.deps.queues.frames : name === 'audio' ? this.deps.queues.audio : this.deps.queues.rules;
      let timer: NodeJS.Timeout | undefined;
      try {
        const c = await Promise.race([
          queue.getJobCounts('waiting', 'prioritized'),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('Redis did not answer within 2 s')), 2000); }),
        ]);
        out.set(name, (c.waiting ?? 0) + (c.prioritized ?? 0));
      } catch (err) {
        out.set(name, err instanceof Error ? err : new Error(String(err)));
      } finally {
        clearTimeout(timer);
      }
    }));
    return out;
  }

  /** Per watched queue: whether it progresses (see {@link QueueHealth}). */
  async health(): Promise<Record<string, QueueHealth>> {
    const counts = await this.counts();
    const now = Date.now();
    const out: Record<string, QueueHealth> = {};
    for (const [name, n] of counts) {
      const mine = this.consumers.filter((c) => c.queue === name);
      const progressAt = Math.max(...mine.map((c) => c.lastProgressAt()));
      const base = { sinceProgressS: Math.round((now - progressAt) / 100) / 10, recreated: this.recreated.get(name) ?? 0 };
      if (n instanceof Error) {
        out[name] = { ok: false, waiting: 0, waitingS: 0, ...base, error: `cannot count jobs: ${n.message}` };
        continue;
      }
      if (n === 0) this.waitingSince.delete(name);
      else if (!this.waitingSince.has(name)) this.waitingSince.set(name, now);
      const since = this.waitingSince.get(name);
      out[name] = { ok: !mine.every((c) => this.stuck(c, since, now)), waiting: n, waitingS: since === undefined ? 0 : Math.round((now - since) / 100) / 10, ...base };
    }
    return out;
  }

  /** One round: recreates each consumer stuck on a queue with jobs waiting. */
  async tick(): Promise<void> {
    const health = await this.health().catch(() => ({} as Record<string, QueueHealth>));
    const now = Date.now();
    for (const c of this.consumers) {
      const h = health[c.queue];
      if (!h || h.error) continue;
      if (this.stuck(c, this.waitingSince.get(c.queue), now)) {
        this.recreated.set(c.queue, (this.recreated.get(c.queue) ?? 0) + 1);
        this.deps.onRecreate?.(c.queue);
        this.deps.logger.error({ queue: c.queue, waiting: h.waiting, sinceProgressS: Math.round((now - c.lastProgressAt()) / 1000) }, 'worker stuck: jobs waiting, no progress; recreating it');
        await c.recreate(`no progress for ${Math.round((now - c.lastProgressAt()) / 1000)} s with ${h.waiting} jobs waiting`)
          .catch((err) => this.deps.logger.error({ queue: c.queue, err: errorText(err) }, 'could not recreate a stuck worker'));
      }
    }
  }
}

/** A frame worker in this process: the model, a micro-batcher and the `frames` queue consumer. */
export async function startFrameWorker(deps: {
  config: Config; db: Db; queues: Queues; connection: ConnectionOptions; logger: Logger; onOutcome?: (o: FrameOutcome) => void;
}): Promise<Closable & { classifier: FrameClassifier; consumer: QueueWorker }> {
  const { config, logger } = deps;
  // the models (TensorFlow.js, nsfwjs, face-api, onnxruntime) are loaded only where frames are analysed: a serving
  // process whose frame workers are child processes never holds their code, nor the source maps Node keeps for it
  // (about half of its heap, scanned by every full collection)
  const [{ createClassifier }, { FaceAnalyzer, LiveFaceCheck }] = await Promise.all([import('./classifiers.ts'), import('./faces/index.ts')]);
  const classifier = await createClassifier({ backend: config.analyzer.frameBackend, onnxThreads: config.analyzer.onnxThreads, modelCacheDir: config.analyzer.modelCacheDir, logger });
  const batchSize = config.analyzer.frameBatchSize;
  const batcher = new MicroBatcher<Buffer, FrameResult>({ maxBatch: batchSize, maxWaitMs: 15, run: (images) => classifier.classify(images) });
  // the face models share the TensorFlow.js backend the frame model just chose; the detector and recognition networks
  // run on onnxruntime once each compiled network has been shown equal to face-api's (analyzer/faces/compiled-nets.ts)
  const faceAnalyzer = config.analyzer.faceEveryN > 0 ? await FaceAnalyzer.load({ modelCacheDir: config.analyzer.modelCacheDir }) : null;
  for (const note of faceAnalyzer?.notes ?? []) logger.warn({ note }, 'face network on TF.js');
  const faces = faceAnalyzer
    ? new LiveFaceCheck({
      db: deps.db, analyzer: faceAnalyzer, everyN: config.analyzer.faceEveryN, ageMargin: config.analyzer.faceAgeMargin,
      key: config.dataKey, matchMaxDistance: config.verification.matchMaxDistance, backend: classifier.backend, logger,
    })
    : undefined;
  const processor = createFrameProcessor({ db: deps.db, queues: deps.queues, dataDir: config.dataDir, classifier, batcher, faces, logger, onOutcome: deps.onOutcome });
  // concurrency of twice the batch size keeps one batch filling while the model runs the other
  const w = runWorker('frames', processor, { connection: deps.connection, prefix: config.redisPrefix, concurrency: batchSize * 2, logger });
  logger.info({ backend: classifier.backend, model: `${classifier.model}@${classifier.modelVersion}`, batchSize, facesEveryN: config.analyzer.faceEveryN, faceNetworks: faceAnalyzer?.backends ?? null }, 'frame worker ready');
  return {
    classifier,
    consumer: w,
    async close() {
      await w.close();
      await batcher.close();
      classifier.dispose();
    },
  };
}
