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
  /** Connections a process opens to Postgres at most (each frame worker process: at most 4 of them). */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  /**
   * `false` behind a pooler in transaction mode (PgBouncer before 1.21): no named prepared statements, which such a
   * pooler cannot keep on one server connection.
   */
  DATABASE_PREPARE: z.enum(['true', 'false']).default('true'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  HTTP_PORT: port.default(8080),
  HTTP_HOST: z.string().default('127.0.0.1'),
  RTMP_PORT: port.default(1935),
  RTMP_HOST: z.string().default('0.0.0.0'),
  /**
   * Host name (or host:port) viewers and encoders reach this ingest node's RTMP server at, e.g. a public name
   * behind a load balancer. Empty: RTMP_HOST, or the host the client called the API on when that is 0.0.0.0.
   */
  RTMP_PUBLIC_HOST: z.string().regex(/^[A-Za-z0-9.:[\]-]*$/, 'a host name or host:port').default(''),
  DATA_DIR: z.string().default('./data'),
  POLICY_FILE: z.string().default('rules/policy.yaml'),
  /** Key prefix for every BullMQ queue and pub/sub channel: lets test runs and tenants share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('warden'),
  /** Seconds between two frame samples of one broadcast (at most one sample per interval). */
  SAMPLE_INTERVAL_S: positive.default(2),
  /**
   * Longest sampling interval, in seconds, that adaptive sampling stretches a broadcast's frame sampling to when the
   * analyzer falls behind (ingest/sampling.ts); equal to SAMPLE_INTERVAL_S turns the stretching off.
   */
  SAMPLE_INTERVAL_MAX_S: positive.default(10),
  /**
   * Frames backlog thresholds, in seconds: when the oldest waiting `frames` job is older than FRAMES_BACKLOG_HIGH_S,
   * sampling stretches; once it is younger than FRAMES_BACKLOG_LOW_S, it comes back towards SAMPLE_INTERVAL_S.
   */
  FRAMES_BACKLOG_HIGH_S: positive.default(2),
  FRAMES_BACKLOG_LOW_S: positive.default(0.5),
  /**
   * Audio backlog thresholds, in seconds: when the oldest waiting `audio` job is older than AUDIO_BACKLOG_HIGH_S,
   * fewer broadcasts have their speech transcribed (the lowest-priority ones' chunks are recorded as skipped); once it
   * is younger than AUDIO_BACKLOG_LOW_S, more are again.
   */
  AUDIO_BACKLOG_HIGH_S: positive.default(20),
  AUDIO_BACKLOG_LOW_S: positive.default(8),
  /** An audio chunk of a broadcast without priority that waited longer than this many seconds is skipped, not transcribed. */
  AUDIO_MAX_WAIT_S: positive.default(60),
  /**
   * An audio chunk of an urgent broadcast (open case, recent high score) that waited longer than this many seconds is
   * skipped too: its speech is transcribed late rather than not at all, but the queue stays bounded.
   */
  AUDIO_MAX_WAIT_URGENT_S: positive.default(600),
  /** Seconds between two readings of the queues' backlog by the adaptive sampling controller. */
  SAMPLING_CONTROL_S: positive.default(2),
  /** Seconds a score at or above a rule's threshold keeps a broadcast's samples prioritised. */
  PRIORITY_WINDOW_S: positive.default(300),
  /** Length of the audio chunks the tap cuts for transcription, in seconds. */
  AUDIO_CHUNK_S: positive.default(10),
  /** Seconds each audio chunk repeats of the previous one, so a phrase across a boundary is heard whole. */
  AUDIO_OVERLAP_S: z.coerce.number().min(0).default(2),
  /** Audio chunks transcribed at once per process (each runs PocketSphinx processes); default: half the cores. */
  AUDIO_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(Math.max(1, Math.floor(os.availableParallelism() / 2))),
  /** Hamming distance (of 64 bits) at or under which a frame is a duplicate of the last analysed one. */
  DUPLICATE_MAX_DISTANCE: z.coerce.number().int().min(0).max(64).default(4),
  /**
   * Seconds a broadcast whose publisher lost its connection (without saying it stopped) stays live waiting for the
   * same stream key to publish again; a reconnect within it continues the same broadcast. 0: it ends at once.
   */
  RECONNECT_GRACE_S: z.coerce.number().min(0).default(15),
  /**
   * Seconds jobs may wait in a queue with no progress from an idle worker of this process (no job started, completed
   * or failed) before the worker counts as stuck: /readyz answers 503 and the watchdog recreates it. A worker running a
   * job gets five times as long (a slow job is not a stuck worker).
   */
  WORKER_STUCK_S: positive.default(60),
  /** Analyzer worker processes (`warden serve` and `warden worker`); default: one per core. */
  WORKER_PROCESSES: z.coerce.number().int().min(0).max(64).default(os.availableParallelism()),
  /**
   * Niceness (0–19) of the frame workers, and the base of the taps' (TAP_NICE) and PocketSphinx's (TRANSCRIBE_NICE):
   * they are throughput work, while the API and ingest process holds latency work (panic alerts, chat verdicts,
   * kicks). 0: same priority as the rest.
   */
  ANALYZER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /**
   * Niceness (0–19) of the taps' ffmpeg; default ANALYZER_NICE + 5 (at most 19). The taps are many (one per broadcast):
   * at the frame workers' 10, dozens of them runnable at once outweighed the serving process in the kernel's scheduler
   * (nice 10 weighs about a ninth of nice 0, nice 15 about a 28th) and delayed panic alerts (bench/gates-panic.ts at 20
   * streams: p99 50–117 ms over four runs at 10, 36–38 ms over two at 15); lower than the frame workers also means
   * the samples already taken are analysed before more are decoded.
   */
  TAP_NICE: z.coerce.number().int().min(0).max(19).optional(),
  /**
   * Niceness (0–19) of PocketSphinx; default ANALYZER_NICE + 5 (at most 19): when the machine is short of CPU, frame
   * analysis (nudity, a possible minor) gets it before transcription, whose chunks are shed when it falls behind.
   */
  TRANSCRIBE_NICE: z.coerce.number().int().min(0).max(19).optional(),
  /** Largest batch of frames given to the model in one call. */
  FRAME_BATCH_SIZE: z.coerce.number().int().min(1).max(64).default(4),
  /** Face count and age estimation on every Nth analysed frame sample (0: off); a lower rate than NSFW. */
  FACE_EVERY_N: z.coerce.number().int().min(0).max(100).default(3),
  /** A face estimated younger than this many years is a possible minor (age estimation's buffer above 18). */
  FACE_AGE_MARGIN: z.coerce.number().min(18).max(40).default(21),
  /** Frame model backend: auto picks the compiled ONNX model when it is verified equal to TF.js, else tfjs-node when it loads, else wasm. */
  FRAME_BACKEND: z.enum(['auto', 'onnx', 'tfjs-node', 'wasm']).default('auto'),
  /**
   * V8's old-generation growth (percent above the live heap) before the next full collection, in `warden serve`,
   * `ingest`, `worker` and each frame worker; 0 leaves V8's own choice. V8 counts ArrayBuffer bytes (every media
   * packet, every tensor) towards that limit and, left to itself, grows it by as little as 10%: at twenty streams the
   * ingest process ran a mark-compact about twice a second. 100 (the heap may double before collecting) cut those
   * to one every four seconds and that process's CPU from 0.36 to about 0.25 cores (README "Capacity").
   */
  HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(1000).default(100),
  /** Intra-op threads of the ONNX Runtime session in each analyzer process (one process per core: 1). */
  ONNX_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  /** Where the compiled ONNX model and its equivalence verdict are cached (default node_modules/.cache/warden-models). */
  MODEL_CACHE_DIR: z.string().default(''),
  NODE_ID: z.string().min(1).default(os.hostname()),
  /** Minutes without a request after which a session ends. */
  SESSION_IDLE_MIN: positive.default(30),
  /** Hours after sign-in at which a session ends however active it is. */
  SESSION_MAX_H: positive.default(12),
  /** Failed sign-ins allowed per account, and per client IP, in LOGIN_WINDOW_MIN minutes (then 429). */
  LOGIN_MAX_FAILURES_ACCOUNT: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILURES_IP: z.coerce.number().int().min(1).default(30),
  LOGIN_WINDOW_MIN: positive.default(15),
  /** Trust X-Forwarded-For / X-Forwarded-Proto (only behind a proxy that sets them). */
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  /** Minutes from a case's opening to its SLA due time, per priority: critical=5,urgent=15,high=60,normal=240,low=1440. */
  SLA_MINUTES: z.string().default('critical=5,urgent=15,high=60,normal=240,low=1440'),
  /** Seconds a claim lasts without activity on the case (each action on it renews the claim). */
  CLAIM_IDLE_S: positive.default(300),
  /** Seconds during which the moderator who decided a case can undo the decision. */
  UNDO_S: z.coerce.number().min(0).default(10),
  /** Days after a statement of reasons during which the user may appeal. */
  APPEAL_WINDOW_DAYS: positive.default(14),
  /** Distinct reporters that raise a reported subject's case by one priority step. */
  REPORTS_PER_STEP: z.coerce.number().int().min(1).default(3),
  /** Outbound webhooks: comma-separated URLs that receive every audit-log entry, signed with WEBHOOK_SECRET. */
  WEBHOOK_URLS: z.string().default(''),
  WEBHOOK_SECRET: z.string().default(''),
  /** Seconds a panic alert may stay unacknowledged before it escalates (and again after each escalation). */
  ALERT_ACK_S: positive.default(30),
  /** Escalations of one alert at most (each re-notifies moderators and calls the on-call webhook). */
  ALERT_MAX_ESCALATIONS: z.coerce.number().int().min(1).max(20).default(3),
  /** On-call service that receives escalations (signed with WEBHOOK_SECRET); none when empty. */
  ALERT_ESCALATION_URL: z.string().default(''),
  /**
   * The data key: AES-256-GCM for what Warden keeps sealed at rest (verification images and face descriptors,
   * two-factor secrets): 32 bytes as 64 hex digits or base64. Never stored in the database. Empty: verification
   * submissions and two-factor enrolment are refused (503) until it is set.
   */
  DATA_KEY: z.string().default(''),
  /** Days after a verification is decided at which its images are deleted. */
  VERIFICATION_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  /**
   * Days after capture at which a sample (frame or audio chunk) is deleted: its file, its row, its signals and transcript.
   * 0 keeps samples forever. Evidence of a case is kept longer (EVIDENCE_RETENTION_DAYS).
   */
  SAMPLE_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  /** Days after sending at which a chat message is deleted (0: never), unless a case joined it or is about it. */
  CHAT_RETENTION_DAYS: z.coerce.number().min(0).default(90),
  /** Days after a sign-in session ended (expired or revoked) at which it is deleted, with its address and user agent (0: never). */
  SESSION_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  /** Days after a case is resolved at which its evidence samples and chat messages may go too (an appeal reopens the case: kept meanwhile). */
  EVIDENCE_RETENTION_DAYS: z.coerce.number().min(0).default(365),
  /** Days an approved verification stays valid. */
  VERIFICATION_VALID_DAYS: positive.default(365),
  /** Largest ID-document or selfie upload, in bytes, and most pixels (width × height) of either image. */
  VERIFICATION_MAX_BYTES: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  VERIFICATION_MAX_PIXELS: z.coerce.number().int().min(10_000).default(40_000_000),
  /** Face-descriptor distance at or under which two faces are the same person (face-api's Euclidean distance). */
  FACE_MATCH_MAX_DISTANCE: z.coerce.number().min(0.1).max(1.5).default(0.5),
  /** Secrets of external verification providers' webhooks, comma-separated: two during a rotation (each 16+ characters). */
  VERIFICATION_WEBHOOK_SECRETS: z.string().default(''),
  /**
   * The shared secret of the HTTP publish-gate hook (`POST /api/ingest/on-publish`, for nginx-rtmp `on_publish` or
   * MediaMTX external auth in front of Warden), 16+ characters; empty: the hook answers 503.
   */
  INGEST_HOOK_SECRET: z.string().default(''),
  /** The address people reach Warden's web pages at, for links in e-mail (default http://HTTP_HOST:HTTP_PORT). */
  PUBLIC_URL: z.string().default(''),
  /** SMTP server for outgoing mail, e.g. smtp://user:pass@mail.example.com:587; empty: mail stays in the outbox table. */
  SMTP_URL: z.string().default(''),
  /** The From address of outgoing mail. */
  MAIL_FROM: z.string().default('Warden <no-reply@warden.invalid>'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

/** Validated configuration, in Warden's own names and units. */
export interface Config {
  databaseUrl: string;
  /** Postgres pool: most connections per process, and whether queries are prepared as named statements. */
  database: { poolMax: number; prepare: boolean };
  redisUrl: string;
  http: { host: string; port: number };
  /** `publicHost`: what play URLs name this node by (null: see RTMP_PUBLIC_HOST). */
  rtmp: { host: string; port: number; publicHost: string | null };
  /** Absolute path of the data directory (sample images, media server state). */
  dataDir: string;
  /** Absolute path of the policy file. */
  policyFile: string;
  redisPrefix: string;
  /** Frame sampling; audio chunking (`audio: null` turns the audio tap off); the taps' niceness. */
  tap: { sampleIntervalMs: number; duplicateMaxDistance: number; audio: { chunkMs: number; overlapMs: number } | null; nice: number };
  /**
   * Deliberate degradation when the analyzer falls behind (ingest/sampling.ts), in ms: the longest stretched sampling
   * interval; the frames and audio backlog thresholds (age of the oldest waiting job) at which sampling stretches
   * (`high`) and recovers (`low`); the longest an audio chunk of a broadcast without priority, and of an urgent one, may
   * wait before it is skipped; how often the backlog is read; how long a high score keeps a broadcast prioritised.
   */
  degrade: {
    sampleIntervalMaxMs: number; framesHighMs: number; framesLowMs: number; audioHighMs: number; audioLowMs: number;
    audioMaxWaitMs: number; audioMaxWaitUrgentMs: number; controlMs: number; priorityWindowMs: number;
  };
  /**
   * `audioConcurrency` 0: this process transcribes nothing. `faceEveryN` 0: no face analysis; `faceAgeMargin`:
   * years under which a face is a possible minor. `nice`: niceness of the analyzer's processes.
   */
  /** The ingest node: how long a broadcast waits for its publisher to reconnect (0: no waiting). */
  ingest: { reconnectGraceMs: number };
  /** `stuckMs`: jobs waiting this long with no progress make a worker stuck (recreated; /readyz 503). */
  analyzer: {
    stuckMs: number;
    workerProcesses: number; frameBatchSize: number; frameBackend: 'auto' | 'onnx' | 'tfjs-node' | 'wasm'; onnxThreads: number; modelCacheDir: string | null; audioConcurrency: number;
    faceEveryN: number; faceAgeMargin: number; nice: number;
    /** Niceness of PocketSphinx (TRANSCRIBE_NICE). */
    transcribeNice: number;
  };
  nodeId: string;
  logLevel: string;
  /** HEAP_GROWING_PERCENT: applied by `applyHeapGrowing` (core/heap.ts) when a process starts Warden (bin/runtime.ts) or a frame worker. */
  heapGrowingPercent: number;
  /** Sign-in sessions and login throttling. */
  auth: { sessionIdleMs: number; sessionMaxMs: number; maxFailuresPerAccount: number; maxFailuresPerIp: number; loginWindowMs: number; trustProxy: boolean };
  /** The review queue: SLA per priority (minutes), claim idle time, undo window, appeals, report escalation. */
  review: { slaMinutes: Record<Priority, number>; claimIdleMs: number; undoMs: number; appealWindowMs: number; reportsPerStep: number };
  /** Outbound webhooks (none when `urls` is empty). */
  webhooks: { urls: string[]; secret: string };
  /** Shared secret of the HTTP publish-gate hook for a media server in front (null: the hook is off, 503). */
  ingestHookSecret: string | null;
  /** Panic alerts: acknowledgement deadline, escalations, the on-call webhook. */
  alerts: { ackMs: number; maxEscalations: number; escalationUrl: string | null };
  /** Where people reach the web pages (links in mail), and outgoing mail (`smtpUrl` null: kept in the outbox). */
  /** `publicUrlSet`: PUBLIC_URL was given (then it also names this node in other nodes' HTTP-FLV play URLs). */
  web: { publicUrl: string; publicUrlSet: boolean };
  mail: { smtpUrl: string | null; from: string };
  /**
   * The data key (DATA_KEY): 32 bytes as 64 hex digits, for AES-256-GCM (core/sealed.ts); a string so the config
   * crosses IPC to worker processes; null when not configured.
   */
  dataKey: string | null;
  /**
   * Age/ID verification: retention of images after a decision, validity of an approval, upload limits, the
   * face-match threshold, provider webhook secrets.
   */
  verification: {
    retentionMs: number; validMs: number; maxBytes: number; maxPixels: number;
    matchMaxDistance: number; webhookSecrets: string[];
  };
  /**
   * Retention (moderation/retention.ts), in ms: samples captured longer ago than `samplesMs`, chat messages sent
   * longer ago than `chatMs` and sessions that ended longer ago than `sessionsMs` are deleted (0: never), except what
   * a case needs that is unresolved or was resolved less than `evidenceMs` ago.
   */
  retention: { samplesMs: number; chatMs: number; sessionsMs: number; evidenceMs: number };
}

/** Decodes a 32-byte key given as 64 hex digits or base64. @returns the key, or a message naming the problem. */
function parseKey(text: string): Buffer | string {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  return key.length === 32 ? key : `must be 32 bytes as 64 hex digits or base64 (got ${key.length} bytes)`;
}

const priorityNames = ['critical', 'urgent', 'high', 'normal', 'low'] as const;
type Priority = (typeof priorityNames)[number];

/** Parses `critical=5,urgent=15,…` (every priority, minutes > 0). @returns the map, or a message naming the problem. */
function parseSla(text: string): Record<Priority, number> | string {
  const out: Partial<Record<Priority, number>> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = part.match(/^([a-z]+)=(\d+(?:\.\d+)?)$/);
    if (!m || !(priorityNames as readonly string[]).includes(m[1]!)) return `"${part}" is not priority=minutes (priorities: ${priorityNames.join(', ')})`;
    if (Number(m[2]) <= 0) return `${m[1]} must be more than 0 minutes`;
    out[m[1] as Priority] = Number(m[2]);
  }
  const missing = priorityNames.filter((p) => out[p] === undefined);
  return missing.length ? `missing ${missing.join(', ')}` : out as Record<Priority, number>;
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
  if (e.SAMPLE_INTERVAL_MAX_S < e.SAMPLE_INTERVAL_S) {
    throw new ConfigError(`invalid configuration:\n  SAMPLE_INTERVAL_MAX_S: must be at least SAMPLE_INTERVAL_S (${e.SAMPLE_INTERVAL_S})`);
  }
  if (e.FRAMES_BACKLOG_LOW_S >= e.FRAMES_BACKLOG_HIGH_S) throw new ConfigError('invalid configuration:\n  FRAMES_BACKLOG_LOW_S: must be less than FRAMES_BACKLOG_HIGH_S');
  if (e.AUDIO_BACKLOG_LOW_S >= e.AUDIO_BACKLOG_HIGH_S) throw new ConfigError('invalid configuration:\n  AUDIO_BACKLOG_LOW_S: must be less than AUDIO_BACKLOG_HIGH_S');
  const sla = parseSla(e.SLA_MINUTES);
  if (typeof sla === 'string') throw new ConfigError(`invalid configuration:\n  SLA_MINUTES: ${sla}`);
  const webhookUrls = e.WEBHOOK_URLS.split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of webhookUrls) {
    if (!/^https?:\/\/[^\s]+$/.test(u)) throw new ConfigError(`invalid configuration:\n  WEBHOOK_URLS: "${u}" is not an http(s) URL`);
  }
  if (e.ALERT_ESCALATION_URL && !/^https?:\/\/[^\s]+$/.test(e.ALERT_ESCALATION_URL)) throw new ConfigError(`invalid configuration:\n  ALERT_ESCALATION_URL: "${e.ALERT_ESCALATION_URL}" is not an http(s) URL`);
  if ((webhookUrls.length || e.ALERT_ESCALATION_URL) && e.WEBHOOK_SECRET.length < 16) throw new ConfigError('invalid configuration:\n  WEBHOOK_SECRET: at least 16 characters are needed when WEBHOOK_URLS or ALERT_ESCALATION_URL is set');
  let dataKey: string | null = null;
  if (e.DATA_KEY) {
    const k = parseKey(e.DATA_KEY);
    if (typeof k === 'string') throw new ConfigError(`invalid configuration:\n  DATA_KEY: ${k}`);
    dataKey = k.toString('hex');
  }
  if (e.INGEST_HOOK_SECRET && e.INGEST_HOOK_SECRET.length < 16) throw new ConfigError('invalid configuration:\n  INGEST_HOOK_SECRET: at least 16 characters');
  if (e.PUBLIC_URL && !/^https?:\/\/[^\s/]+/.test(e.PUBLIC_URL)) throw new ConfigError(`invalid configuration:\n  PUBLIC_URL: "${e.PUBLIC_URL}" is not an http(s) URL`);
  if (e.SMTP_URL && !/^smtps?:\/\/[^\s]+$/.test(e.SMTP_URL)) throw new ConfigError('invalid configuration:\n  SMTP_URL: not an smtp:// or smtps:// URL');
  const providerSecrets = e.VERIFICATION_WEBHOOK_SECRETS.split(',').map((x) => x.trim()).filter(Boolean);
  if (providerSecrets.length > 2 || providerSecrets.some((x) => x.length < 16)) {
    throw new ConfigError('invalid configuration:\n  VERIFICATION_WEBHOOK_SECRETS: one or two secrets (two during a rotation), each at least 16 characters');
  }
  return {
    databaseUrl: e.DATABASE_URL,
    database: { poolMax: e.DATABASE_POOL_MAX, prepare: e.DATABASE_PREPARE === 'true' },
    redisUrl: e.REDIS_URL,
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
    rtmp: { host: e.RTMP_HOST, port: e.RTMP_PORT, publicHost: e.RTMP_PUBLIC_HOST || null },
    dataDir: path.resolve(e.DATA_DIR),
    policyFile: path.resolve(e.POLICY_FILE),
    redisPrefix: e.REDIS_PREFIX,
    tap: {
      sampleIntervalMs: Math.round(e.SAMPLE_INTERVAL_S * 1000), duplicateMaxDistance: e.DUPLICATE_MAX_DISTANCE,
      audio: { chunkMs: Math.round(e.AUDIO_CHUNK_S * 1000), overlapMs: Math.round(e.AUDIO_OVERLAP_S * 1000) },
      nice: e.TAP_NICE ?? Math.min(19, e.ANALYZER_NICE + 5),
    },
    degrade: {
      sampleIntervalMaxMs: Math.round(e.SAMPLE_INTERVAL_MAX_S * 1000),
      framesHighMs: Math.round(e.FRAMES_BACKLOG_HIGH_S * 1000), framesLowMs: Math.round(e.FRAMES_BACKLOG_LOW_S * 1000),
      audioHighMs: Math.round(e.AUDIO_BACKLOG_HIGH_S * 1000), audioLowMs: Math.round(e.AUDIO_BACKLOG_LOW_S * 1000),
      audioMaxWaitMs: Math.round(e.AUDIO_MAX_WAIT_S * 1000), audioMaxWaitUrgentMs: Math.round(e.AUDIO_MAX_WAIT_URGENT_S * 1000),
      controlMs: Math.round(e.SAMPLING_CONTROL_S * 1000),
      priorityWindowMs: Math.round(e.PRIORITY_WINDOW_S * 1000),
    },
    ingest: { reconnectGraceMs: Math.round(e.RECONNECT_GRACE_S * 1000) },
    analyzer: {
      stuckMs: Math.round(e.WORKER_STUCK_S * 1000),
      workerProcesses: e.WORKER_PROCESSES, frameBatchSize: e.FRAME_BATCH_SIZE, frameBackend: e.FRAME_BACKEND, onnxThreads: e.ONNX_THREADS, modelCacheDir: e.MODEL_CACHE_DIR ? path.resolve(e.MODEL_CACHE_DIR) : null, audioConcurrency: e.AUDIO_CONCURRENCY,
      faceEveryN: e.FACE_EVERY_N, faceAgeMargin: e.FACE_AGE_MARGIN, nice: e.ANALYZER_NICE,
      transcribeNice: e.TRANSCRIBE_NICE ?? Math.min(19, e.ANALYZER_NICE + 5),
    },
    nodeId: e.NODE_ID,
    logLevel: e.LOG_LEVEL,
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
    auth: {
      sessionIdleMs: Math.round(e.SESSION_IDLE_MIN * 60_000), sessionMaxMs: Math.round(e.SESSION_MAX_H * 3_600_000),
      maxFailuresPerAccount: e.LOGIN_MAX_FAILURES_ACCOUNT, maxFailuresPerIp: e.LOGIN_MAX_FAILURES_IP,
      loginWindowMs: Math.round(e.LOGIN_WINDOW_MIN * 60_000), trustProxy: e.TRUST_PROXY === 'true',
    },
    review: {
      slaMinutes: sla, claimIdleMs: Math.round(e.CLAIM_IDLE_S * 1000), undoMs: Math.round(e.UNDO_S * 1000),
      appealWindowMs: Math.round(e.APPEAL_WINDOW_DAYS * 86_400_000), reportsPerStep: e.REPORTS_PER_STEP,
    },
    webhooks: { urls: webhookUrls, secret: e.WEBHOOK_SECRET },
    ingestHookSecret: e.INGEST_HOOK_SECRET || null,
    alerts: { ackMs: Math.round(e.ALERT_ACK_S * 1000), maxEscalations: e.ALERT_MAX_ESCALATIONS, escalationUrl: e.ALERT_ESCALATION_URL || null },
    web: { publicUrl: (e.PUBLIC_URL || `http://${e.HTTP_HOST}:${e.HTTP_PORT}`).replace(/\/+$/, ''), publicUrlSet: e.PUBLIC_URL !== '' },
    mail: { smtpUrl: e.SMTP_URL || null, from: e.MAIL_FROM },
    dataKey,
    verification: {
      retentionMs: Math.round(e.VERIFICATION_RETENTION_DAYS * 86_400_000), validMs: Math.round(e.VERIFICATION_VALID_DAYS * 86_400_000),
      maxBytes: e.VERIFICATION_MAX_BYTES, maxPixels: e.VERIFICATION_MAX_PIXELS, matchMaxDistance: e.FACE_MATCH_MAX_DISTANCE, webhookSecrets: providerSecrets,
    },
    retention: {
      samplesMs: Math.round(e.SAMPLE_RETENTION_DAYS * 86_400_000), chatMs: Math.round(e.CHAT_RETENTION_DAYS * 86_400_000),
      sessionsMs: Math.round(e.SESSION_RETENTION_DAYS * 86_400_000),
      evidenceMs: Math.round(e.EVIDENCE_RETENTION_DAYS * 86_400_000),
    },
    ...overrides,
  };
}
