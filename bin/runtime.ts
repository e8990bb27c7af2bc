/**
 * Starts the parts of Warden a process runs (`warden serve`: api + ingest + workers; `warden worker`: workers)
 * and stops them in order: HTTP → ingest sessions → workers (with a timeout) → queues → Redis → Postgres.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AppContext } from '../core/context.ts';
import { connectRedis } from '../core/redis.ts';
import { AlertHub, CaseEventHub, answerClientError, createAlertService, createApi } from '../api/index.ts';
import { IngestService } from '../ingest/index.ts';
import { ChatGateway } from '../ingest/chat/index.ts';
import { TextAnalyzer } from '../analyzer/text/index.ts';
import { ChatModeration, WebhookDispatcher, enforcementChannel, queueOfReason } from '../moderation/index.ts';
import { FrameWorkerPool } from '../analyzer/pool.ts';
import { WorkerWatchdog, runWorker, startFrameWorker, type Closable } from '../analyzer/workers.ts';
import { createEvaluateProcessor } from '../analyzer/processors/evaluate-sample.ts';
import { createTranscribeProcessor } from '../analyzer/processors/transcribe-audio.ts';
import { PocketsphinxTranscriber } from '../analyzer/audio/index.ts';
import type { FrameOutcome } from '../analyzer/processors/analyze-frame.ts';
import { createVerificationService } from '../api/verification.ts';
import { Retention, VerificationSweeper } from '../moderation/index.ts';
import { Mailer } from '../moderation/index.ts';
import { applyHeapGrowing } from '../core/heap.ts';
import { SpawnHelper } from '../core/commands.ts';

export interface WardenRoles { api?: boolean; ingest?: boolean; workers?: boolean }

export interface WardenHandle {
  ctx: AppContext;
  ingest?: IngestService;
  /** Base URL of the HTTP API, when running. */
  httpUrl?: string;
  /** The chat gateway, when the API runs. */
  chat?: ChatGateway;
  /** The frame model backend in use, when workers run. */
  frameBackend?: string;
  /** The frame worker processes, when workers run in them (WORKER_PROCESSES > 0). */
  framePool?: FrameWorkerPool;
  /** Judges this process's workers by their progress (/readyz) and recreates stuck ones, when workers run. */
  watchdog?: WorkerWatchdog;
  stop(): Promise<void>;
}

/** Starts the requested roles on a context. On failure, whatever started is stopped again. */
export async function startWarden(ctx: AppContext, roles: WardenRoles): Promise<WardenHandle> {
  const { config, logger, metrics } = ctx;
  applyHeapGrowing(config.heapGrowingPercent); // this process now moves media and tensors (core/heap.ts)
  const stops: (() => Promise<void>)[] = []; // in start order; stopped in reverse
  const handle: WardenHandle = {
    ctx,
    async stop() {
      for (const s of stops.splice(0).reverse()) await s().catch((err) => logger.error({ err: String(err) }, 'shutdown step failed'));
    },
  };
  // the queues' backlog (waiting jobs, the oldest one's age) in /metrics, on every role
  metrics.sources.queueBacklog ??= () => ctx.queues.backlog();
  const onOutcome = (o: FrameOutcome) => {
    if (o.signals) metrics.signals.inc({ analyzer: 'nsfw', backend: o.backend }, o.signals);
    if (o.faceSignals) metrics.signals.inc({ analyzer: 'faces', backend: o.backend }, o.faceSignals);
    if (!o.ok) metrics.analysisFailures.inc({ analyzer: 'nsfw' });
  };
  // the taps' ffmpeg and PocketSphinx are started by a helper process: a spawn from this one blocks its event loop
  // 15-30 ms (core/commands.ts). Started on first use; stopped last (stops run in reverse), after the taps and workers
  const spawner = new SpawnHelper();
  stops.push(() => spawner.stop());
  try {
    if (roles.workers) {
      const rules = runWorker('rules', createEvaluateProcessor({
        db: ctx.db, queues: ctx.queues, enforcer: ctx.enforcer, policy: ctx.policy,
        sampleIntervalMs: config.tap.sampleIntervalMs, metrics, logger: logger.child({ subsystem: 'rules' }),
        audioStepMs: config.tap.audio ? config.tap.audio.chunkMs - config.tap.audio.overlapMs : config.tap.sampleIntervalMs,
      }), { connection: ctx.bullConnection, prefix: config.redisPrefix, concurrency: 4, logger });
      stops.push(() => rules.close());
      const watchdog = new WorkerWatchdog({
        queues: ctx.queues, stuckMs: config.analyzer.stuckMs, logger: logger.child({ subsystem: 'watchdog' }),
        onRecreate: (queue) => metrics.workersRecreated.inc({ queue }),
      });
      handle.watchdog = watchdog;
      watchdog.watch(rules);
      if (config.analyzer.audioConcurrency > 0) {
        // transcription runs PocketSphinx child processes, so this process only waits on them, and the spawn helper
        // starts them; the pronunciation dictionary (135k words, ~0.3 s to parse) is read now, not in the middle of
        // serving (it would stall panic alerts)
        const transcriber = new PocketsphinxTranscriber({ nice: config.analyzer.transcribeNice, runner: spawner });
        await transcriber.pronunciations();
        const audio = runWorker('audio', createTranscribeProcessor({
          db: ctx.db, queues: ctx.queues, dataDir: config.dataDir, transcriber, analyzer: new TextAnalyzer(),
          policy: ctx.policy, metrics, logger: logger.child({ subsystem: 'audio' }), maxWaitMs: config.degrade.audioMaxWaitMs,
          maxWaitUrgentMs: config.degrade.audioMaxWaitUrgentMs,
        }), { connection: ctx.bullConnection, prefix: config.redisPrefix, concurrency: config.analyzer.audioConcurrency, logger, closeTimeoutMs: 20_000 });
        stops.push(() => audio.close());
        watchdog.watch(audio);
      }
      let frames: Closable;
      if (config.analyzer.workerProcesses === 0) {
        const w = await startFrameWorker({ config, db: ctx.db, queues: ctx.queues, connection: ctx.bullConnection, logger: logger.child({ subsystem: 'frames' }), onOutcome });
        handle.frameBackend = w.classifier.backend;
        frames = w;
        watchdog.watch(w.consumer);
      } else {
        const pool = new FrameWorkerPool({ config, size: config.analyzer.workerProcesses, logger: logger.child({ subsystem: 'frames' }), onOutcome });
        stops.push(() => pool.stop()); // registered before start so a failed start still kills the children
        await pool.start();
        handle.frameBackend = pool.backend ?? undefined;
        handle.framePool = pool;
        frames = { close: async () => {} };
        watchdog.watch(...pool.consumers());
      }
      stops.push(() => frames.close());
      if (handle.frameBackend) metrics.frameBackend.set({ backend: handle.frameBackend }, 1);
      watchdog.start();
      stops.push(() => watchdog.stop()); // stopped before the workers it watches
      logger.info({ processes: config.analyzer.workerProcesses, backend: handle.frameBackend }, 'analyzer workers running');
    }
    if (roles.ingest) {
      const subscriber = await connectRedis(config.redisUrl, { name: 'warden-ingest-sub' });
      stops.push(async () => { subscriber.disconnect(); });
      const ingest = new IngestService({ config, db: ctx.db, subscriber, queues: ctx.queues, enforcer: ctx.enforcer, metrics, logger, policy: ctx.policy, spawner });
      await ingest.start();
      stops.push(() => ingest.stop());
      metrics.sources.liveBroadcasts = () => ingest.liveBroadcastIds.length;
      metrics.sources.ingestWritesPending = () => ingest.pendingWrites;
      handle.ingest = ingest;
    }
    if (roles.api) {
      const alerts = createAlertService(ctx);
      alerts.start(); // escalations and alerts waiting for Postgres, polled on every API node
      stops.push(() => alerts.stop());
      // verification expiry (ends broadcasts whose approval lapsed) and image retention, every minute on every API node
      const verificationSweep = new VerificationSweeper(createVerificationService(ctx, null));
      verificationSweep.start();
      stops.push(() => verificationSweep.stop());
      // samples (files, rows, scores) and chat messages past their retention, case evidence kept; every 10 minutes on every API node
      const retention = new Retention({ db: ctx.db, dataDir: config.dataDir, retention: config.retention, logger: logger.child({ subsystem: 'retention' }), metrics });
      retention.start();
      stops.push(() => retention.stop());
      // the mail outbox (password-reset links): sent over SMTP when SMTP_URL is set, otherwise kept in the table
      const mailer = new Mailer({ db: ctx.db, smtpUrl: config.mail.smtpUrl, from: config.mail.from, logger: logger.child({ subsystem: 'mail' }) });
      mailer.start();
      stops.push(() => mailer.stop());
      const chatSub = await connectRedis(config.redisUrl, { name: 'warden-chat-sub' });
      stops.push(async () => { chatSub.disconnect(); });
      // chat records kept in Redis while Postgres was away are stored from here once it answers
      const chatModeration = new ChatModeration({
        db: ctx.db, redis: ctx.redis, prefix: config.redisPrefix, logger, slaMinutes: config.review.slaMinutes,
        queueOf: (reason) => queueOfReason(ctx.policy().moderation, reason),
      });
      chatModeration.start();
      stops.push(() => chatModeration.stop());
      const chat = new ChatGateway({
        db: ctx.db, redis: ctx.redis, subscriber: chatSub, prefix: config.redisPrefix, policy: ctx.policy,
        analyzer: new TextAnalyzer(), moderation: chatModeration, logger,
        onPanic: async (p) => {
          const r = await alerts.raise({ userId: p.userId, handle: p.handle }, { broadcastId: p.broadcastId, protection: p.protection, message: p.message });
          return { alertId: r.alert.id, stored: r.stored };
        },
      });
      await chat.start();
      stops.push(() => chat.stop());
      handle.chat = chat;
      if (config.webhooks.urls.length > 0) {
        const webhooks = new WebhookDispatcher({ db: ctx.db, urls: config.webhooks.urls, secret: config.webhooks.secret, logger: logger.child({ subsystem: 'webhooks' }) });
        webhooks.start();
        stops.push(() => webhooks.stop());
      }
      const events = new CaseEventHub(ctx.database, logger);
      stops.push(() => events.stop());
      const alertHub = new AlertHub(ctx.redis, alerts.channel, logger);
      stops.push(() => alertHub.stop());
      const app = createApi({
        ctx, events, alerts, alertHub, workers: handle.watchdog,
        onRoomChange: (ownerId) => {
          chat.invalidateRoom(ownerId);
          void ctx.redis.publish(enforcementChannel(config.redisPrefix), JSON.stringify({ type: 'room_changed', ownerId })).catch(() => {});
        },
      });
      const server = await new Promise<ServerType>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port }, () => resolve(s));
        s.once('error', reject);
      });
      server.on('clientError', answerClientError); // oversized or malformed requests: a JSON 431/400 that arrives
      server.on('upgrade', (req, socket, head) => {
        if (!chat.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      });
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
      handle.httpUrl = `http://${config.http.host}:${port}`;
      stops.push(() => new Promise<void>((resolve) => { server.close(() => resolve()); (server as { closeAllConnections?: () => void }).closeAllConnections?.(); }));
      logger.info({ url: handle.httpUrl }, 'HTTP API listening');
      // browsers play HTTP-FLV from the ingest node's HTTP server (behind the same play gate as RTMP)
      if (handle.ingest) await handle.ingest.serveFlv(server as import('node:http').Server, { host: config.http.host, port });
    }
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
