/**
 * Entry point of a frame-worker child process (forked by FrameWorkerPool). It waits for its configuration
 * over IPC, connects to Postgres and Redis, loads the model and consumes the `frames` queue until told to stop.
 */
import type { Config } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { connectRedis } from '../core/redis.ts';
import { errorText } from '../core/errors.ts';
import { applyHeapGrowing } from '../core/heap.ts';
import { connectDatabase } from '../db/index.ts';
import { Queues } from './jobs.ts';
import type { ChildMessage } from './pool.ts';
import { startFrameWorker } from './workers.ts';

const send = (m: ChildMessage) => process.send?.(m);

process.once('message', async (msg: { type: 'start'; config: Config }) => {
  if (msg.type !== 'start') return;
  const config = msg.config;
  applyHeapGrowing(config.heapGrowingPercent);
  const logger = createLogger(config.logLevel, 'warden-frame-worker');
  try {
    const database = await connectDatabase(config.databaseUrl, { max: Math.min(4, config.database.poolMax), prepare: config.database.prepare });
    const connection = await connectRedis(config.redisUrl, { bullmq: true, name: 'warden-frame-worker' });
    const queues = new Queues(connection, config.redisPrefix);
    const worker = await startFrameWorker({ config, db: database.db, queues, connection, logger, onOutcome: (outcome) => send({ type: 'outcome', outcome }) });
    send({ type: 'ready', backend: worker.classifier.backend });
    // progress (a job started, completed or failed, the queue found empty) for the parent's watchdog, every 500 ms at most
    let reported = 0;
    let busy = false;
    setInterval(() => {
      if (worker.consumer.lastProgressAt() <= reported && worker.consumer.busy() === busy) return;
      reported = Date.now();
      busy = worker.consumer.busy();
      send({ type: 'progress', busy });
    }, 500).unref();
    const stop = async () => {
      await worker.close();
      await queues.close();
      connection.disconnect();
      await database.close();
      process.exit(0);
    };
    process.on('message', (m: { type: string }) => { if (m.type === 'stop') void stop(); });
    process.once('SIGTERM', () => void stop());
    process.once('disconnect', () => void stop()); // the parent died
  } catch (err) {
    send({ type: 'fatal', error: errorText(err) });
    logger.fatal({ err: errorText(err) }, 'frame worker could not start');
    process.exit(1);
  }
});
