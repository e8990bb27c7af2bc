/**
 * Test harness: a Warden context on a throw-away Postgres database and Redis key prefix, a temporary data
 * directory and free ports; `cleanup()` drops and deletes all of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../core/config.ts';
import { createContext, type AppContext } from '../core/context.ts';
import { createLogger } from '../core/logger.ts';
import { connectRedis, deleteKeysWithPrefix } from '../core/redis.ts';
import { dropDatabase } from '../db/index.ts';

/** A port nobody listens on now (bound to 0, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface TestEnv {
  config: Config;
  ctx: AppContext;
  cleanup(): Promise<void>;
}

/** Builds a test configuration with unique database, prefix, data dir and ports; `overrides` replace fields. */
export async function testConfig(overrides: Partial<Config> = {}): Promise<Config> {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'warden-test-'));
  const base = loadConfig({ DATABASE_URL: process.env.TEST_DATABASE_URL_BASE ? `${process.env.TEST_DATABASE_URL_BASE}/warden_t_${id}` : `postgres://postgres@127.0.0.1:5432/warden_t_${id}`, REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' });
  return {
    ...base,
    dataDir,
    redisPrefix: `wt_${id}`,
    http: { host: '127.0.0.1', port: 0 },
    rtmp: { host: '127.0.0.1', port: await freePort(), publicHost: null },
    analyzer: { ...base.analyzer, workerProcesses: 0 },
    dataKey: randomBytes(32).toString('hex'),
    nodeId: `test-${id}`,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
}

/** A migrated context on throw-away stores. Call `cleanup()` in afterAll. */
export async function createTestEnv(overrides: Partial<Config> = {}): Promise<TestEnv> {
  const config = await testConfig(overrides);
  const ctx = await createContext(config, { migrate: true, logger: createLogger(config.logLevel) });
  return {
    config,
    ctx,
    async cleanup() {
      await ctx.close().catch(() => {});
      await dropDatabase(config.databaseUrl);
      const redis = await connectRedis(config.redisUrl);
      await deleteKeysWithPrefix(redis, config.redisPrefix);
      redis.disconnect();
      await rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value, or throws after `timeoutMs` with `what` in the message. */
export async function waitFor<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
