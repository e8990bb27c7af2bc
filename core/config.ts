/**
 * Configuration: the only module that reads `process.env`. Everything else receives a {@link Config}.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().positive();

/** Environment variables Warden reads, with their defaults. */
export const envSchema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/warden'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  HTTP_PORT: port.default(8080),
  HTTP_HOST: z.string().default('127.0.0.1'),
  RTMP_PORT: port.default(1935),
  RTMP_HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  POLICY_FILE: z.string().default('rules/policy.yaml'),
  /** Key prefix for every BullMQ queue and pub/sub channel: lets test runs and tenants share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('warden'),
  /** Seconds between two frame samples of one broadcast (at most one sample per interval). */
  SAMPLE_INTERVAL_S: positive.default(2),
  /** Length of the audio chunks the tap cuts for transcription, in seconds. */
  AUDIO_CHUNK_S: positive.default(10),
  /** Seconds each audio chunk repeats of the previous one, so a phrase across a boundary is heard whole. */
  AUDIO_OVERLAP_S: z.coerce.number().min(0).default(2),
  /** Audio chunks transcribed at once per process (each runs PocketSphinx processes); default: half the cores. */
  AUDIO_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(Math.max(1, Math.floor(os.availableParallelism() / 2))),
  /** Hamming distance (of 64 bits) at or under which a frame is a duplicate of the last analysed one. */
  DUPLICATE_MAX_DISTANCE: z.coerce.number().int().min(0).max(64).default(4),
  /** Analyzer worker processes (`warden serve` and `warden worker`); default: one per core. */
  WORKER_PROCESSES: z.coerce.number().int().min(0).max(64).default(os.availableParallelism()),
  /** Largest batch of frames given to the model in one call. */
  FRAME_BATCH_SIZE: z.coerce.number().int().min(1).max(64).default(4),
  /** Frame model backend: auto picks tfjs-node when it loads, else wasm. */
  FRAME_BACKEND: z.enum(['auto', 'tfjs-node', 'wasm']).default('auto'),
  NODE_ID: z.string().min(1).default(os.hostname()),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

/** Validated configuration, in Warden's own names and units. */
export interface Config {
  databaseUrl: string;
  redisUrl: string;
  http: { host: string; port: number };
  rtmp: { host: string; port: number };
  /** Absolute path of the data directory (sample images, media server state). */
  dataDir: string;
  /** Absolute path of the policy file. */
  policyFile: string;
  redisPrefix: string;
  /** Frame sampling; audio chunking (`audio: null` turns the audio tap off). */
  tap: { sampleIntervalMs: number; duplicateMaxDistance: number; audio: { chunkMs: number; overlapMs: number } | null };
  /** `audioConcurrency` 0: this process transcribes nothing. */
  analyzer: { workerProcesses: number; frameBatchSize: number; frameBackend: 'auto' | 'tfjs-node' | 'wasm'; audioConcurrency: number };
  nodeId: string;
  logLevel: string;
}

/** Thrown when the environment does not validate; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates configuration.
 * @param env variables to read (default `process.env`); tests pass their own.
 * @param overrides fields to replace after validation (tests: ports 0, throw-away database).
 * @throws ConfigError naming each invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.AUDIO_OVERLAP_S >= e.AUDIO_CHUNK_S / 2) {
    throw new ConfigError(`invalid configuration:\n  AUDIO_OVERLAP_S: must be less than half of AUDIO_CHUNK_S (${e.AUDIO_CHUNK_S})`);
  }
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
    rtmp: { host: e.RTMP_HOST, port: e.RTMP_PORT },
    dataDir: path.resolve(e.DATA_DIR),
    policyFile: path.resolve(e.POLICY_FILE),
    redisPrefix: e.REDIS_PREFIX,
    tap: {
      sampleIntervalMs: Math.round(e.SAMPLE_INTERVAL_S * 1000), duplicateMaxDistance: e.DUPLICATE_MAX_DISTANCE,
      audio: { chunkMs: Math.round(e.AUDIO_CHUNK_S * 1000), overlapMs: Math.round(e.AUDIO_OVERLAP_S * 1000) },
    },
    analyzer: { workerProcesses: e.WORKER_PROCESSES, frameBatchSize: e.FRAME_BATCH_SIZE, frameBackend: e.FRAME_BACKEND, audioConcurrency: e.AUDIO_CONCURRENCY },
    nodeId: e.NODE_ID,
    logLevel: e.LOG_LEVEL,
    ...overrides,
  };
}
