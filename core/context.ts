/**
 * The application context: everything a Warden process shares, built once from config (Ozone's AppContext
 * pattern). Tests build one on a throw-away database and Redis prefix and pass overrides.
 */
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { connectRedis } from './redis.ts';
import { connectDatabase, ensureDatabase, runMigrations, type Database, type Db } from '../db/index.ts';
import { Queues } from '../analyzer/jobs.ts';
import { Enforcer, queueOfReason } from '../moderation/index.ts';
import { loadPolicy, type Policy } from '../rules/index.ts';

export interface AppContext {
  config: Config;
  logger: Logger;
  database: Database;
  db: Db;
  /** Commands and PUBLISH. */
  redis: Redis;
  /** The connection BullMQ queues and workers share (maxRetriesPerRequest: null). */
  bullConnection: Redis;
  queues: Queues;
  metrics: Metrics;
  enforcer: Enforcer;
  /** The policy in force (loaded at start; `reloadPolicy` re-reads the file). */
  policy: () => Policy;
  reloadPolicy(): Promise<Policy>;
  close(): Promise<void>;
}

/**
 * Connects to Postgres (creating the database and applying migrations when `migrate` is set) and Redis,
 * loads the policy and builds the shared services.
 * @throws WardenError('unavailable') naming the URL when Postgres or Redis cannot be reached;
 *         PolicyError (file:line) when the policy file is invalid.
 */
export async function createContext(config: Config, opts: { logger?: Logger; migrate?: boolean } = {}): Promise<AppContext> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  let policy = await loadPolicy(config.policyFile);
  if (opts.migrate) await ensureDatabase(config.databaseUrl);
  const database = await connectDatabase(config.databaseUrl, { max: config.database.poolMax, prepare: config.database.prepare });
  const closers: (() => Promise<unknown> | void)[] = [() => database.close()];
  try {
    if (opts.migrate) await runMigrations(database);
    const redis = await connectRedis(config.redisUrl, { name: 'warden' });
    closers.push(() => redis.quit().catch(() => redis.disconnect()));
    const bullConnection = await connectRedis(config.redisUrl, { bullmq: true, name: 'warden-bullmq' });
    closers.push(() => bullConnection.quit().catch(() => bullConnection.disconnect()));
    const queues = new Queues(bullConnection, config.redisPrefix);
    closers.push(() => queues.close());
    const metrics = createMetrics();
    metrics.sources.queueDepth = () => queues.depth();
    const enforcer = new Enforcer({ db: database.db, redis, prefix: config.redisPrefix, logger: logger.child({ subsystem: 'moderation' }), slaMinutes: config.review.slaMinutes, queueOf: (reason) => queueOfReason(policy.moderation, reason),
      moderation: () => policy.moderation, appealWindowMs: config.review.appealWindowMs,
    });
    return {
      config, logger, database, db: database.db, redis, bullConnection, queues, metrics, enforcer,
      policy: () => policy,
      async reloadPolicy() {
        policy = await loadPolicy(config.policyFile);
        logger.info({ version: policy.version }, 'policy reloaded');
        return policy;
      },
      async close() {
        for (const c of closers.reverse()) await c();
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
    throw err;
  }
}
