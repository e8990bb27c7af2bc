/**
 * The ingest node: runs the RTMP server, gates publishes, opens and closes broadcasts, taps each live
 * broadcast for sampled keyframes and audio chunks (stored as samples with their file and a queued job;
 * chunks without speech are recorded as silent, with no file and no job), and kicks
 * publishers when enforcement says so (over Redis pub/sub, from whichever node decided).
 *
 * Viewers play a live broadcast at `/watch/<broadcast id>` with a one-time token from the play API; the play
 * gate (ingest/play-gate.ts) admits them before node-media-server sends a frame, and enforcement disconnects
 * them: a banned viewer's plays, a hidden broadcast's viewers, every viewer of a broadcast that ended. Browsers play
 * the same way over HTTP-FLV (ingest/flv.ts) on the node's HTTP server, once {@link IngestService.serveFlv} mounted it.
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import type { Metrics } from '../core/metrics.ts';
import {
  addDuplicateFrames, endBroadcast, endOrphanedBroadcasts, insertSample, openBroadcast, setTapMode, type Db,
} from '../db/index.ts';
import type { Queues } from '../analyzer/jobs.ts';
import { enforcementChannel, liveBroadcastKey, type Enforcer, type EnforcementMessage } from '../moderation/index.ts';
import { PublishGate } from './gate.ts';
import { MediaServer, type NmsSession } from './media-server.ts';
import { FlvPlays, mountBeforeApp } from './flv.ts';
import { PLAY_APP, ViewerSessions, playPath, publicAuthority, registerIngestNode, unregisterIngestNode } from './play-gate.ts';
import { dHash, hammingDistance } from './phash.ts';
import { keyPrefix } from './stream-keys.ts';
import { StreamTap, type AudioChunk, type TapFrame } from './tap.ts';
import { encodeWav } from '../analyzer/audio/index.ts';

export interface IngestDeps {
  config: Config;
  db: Db;
  /** A dedicated connection for SUBSCRIBE (a subscribed connection can issue no other commands). */
  subscriber: Redis;
  /** A command connection for the play gate (default: a duplicate of `subscriber`'s, owned by the service). */
  redis?: Redis;
  queues: Queues;
  enforcer: Enforcer;
  metrics: Metrics;
  logger: Logger;
}

/** A broadcast this node holds. */
interface LiveBroadcast {
  broadcastId: string;
  userId: string;
  session: NmsSession;
  tap: StreamTap;
  /** Hash and sample id of the last frame sent for analysis (duplicates are compared with it). */
  last?: { hash: string; sampleId: string };
  endReason?: string;
  closed: boolean;
}

/** What happened to a publish attempt (tests and the demo wait on these). */
export type PublishEvent =
  | { type: 'accepted'; broadcastId: string; userId: string }
  | { type: 'refused'; reason: string; userId?: string }
  | { type: 'ended'; broadcastId: string; reason: string };

/** Seconds the live-broadcast key lives unless the broadcast ends first (bounds a key left by a dead node). */
const LIVE_KEY_TTL_S = 24 * 3600;
/** Deletes KEYS[1] only while it still names ARGV[1] (a newer broadcast of the performer keeps its key). */
const DEL_IF_EQUAL = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

export class IngestService {
  private readonly server: MediaServer;
  private readonly gate: PublishGate;
  private readonly live = new Map<string, LiveBroadcast>(); // by broadcast id
  private readonly acceptedPaths = new Set<string>();
  private readonly log: Logger;
  private readonly channel: string;
  private readonly redis: Redis;
  private readonly ownsRedis: boolean;
  private readonly viewers: ViewerSessions;
  private stopping = false;
  /** Where this node serves HTTP-FLV plays, once {@link serveFlv} mounted them. */
  private http: { host: string | null; port: number; publicUrl: string | null } | null = null;
  /** Observers of publish outcomes (demo, tests). */
  readonly events = new EventEmitter();

  constructor(private readonly deps: IngestDeps) {
    this.log = deps.logger.child({ subsystem: 'ingest' });
    this.gate = new PublishGate(deps.db);
    this.channel = enforcementChannel(deps.config.redisPrefix);
    this.server = new MediaServer({ host: deps.config.rtmp.host, port: deps.config.rtmp.port, stateDir: deps.config.dataDir, logger: deps.logger });
    this.server.on('prePublish', (s) => void this.onPublish(s));
    this.server.on('prePlay', (s) => this.onPlay(s));
    this.ownsRedis = !deps.redis;
    this.redis = deps.redis ?? deps.subscriber.duplicate({ connectionName: 'warden-ingest-play' });
    if (this.ownsRedis) this.redis.on('error', () => {}); // reconnects by itself; a failed command refuses the play
    this.viewers = new ViewerSessions({ redis: this.redis, prefix: deps.config.redisPrefix, server: this.server, logger: deps.logger });
    this.server.setPlayGate((s) => this.admitPlay(s));
    this.server.on('donePlay', (s) => this.viewers.left(s));
  }

  /** Viewers playing from this node now. */
  get viewerCount(): number {
    return this.viewers.count;
  }

  /** Broadcasts this node holds now. */
  get liveBroadcastIds(): string[] {
    return [...this.live.keys()];
  }

  /** Ends broadcasts this node left live in a previous life, subscribes to enforcement, starts the RTMP server. */
  async start(): Promise<void> {
    const orphaned = await endOrphanedBroadcasts(this.deps.db, this.deps.config.nodeId, 'ingest node restarted');
    if (orphaned) this.log.warn({ orphaned }, 'closed broadcasts left live by a previous run');
    this.deps.subscriber.on('message', (channel, message) => {
      if (channel === this.channel) this.onEnforcement(message);
    });
    await this.deps.subscriber.subscribe(this.channel);
    await this.server.start();
    await this.register();
    this.log.info({ port: this.deps.config.rtmp.port }, 'RTMP ingest listening');
  }

  /** Records in Redis where this node serves plays (RTMP, and HTTP-FLV when mounted): the play API points viewers here. */
  private async register(): Promise<void> {
    const { host } = this.deps.config.rtmp;
    await registerIngestNode(this.redis, this.deps.config.redisPrefix, this.deps.config.nodeId, {
      rtmpHost: host === '0.0.0.0' || host === '::' ? null : host, rtmpPort: this.server.rtmpPort,
      publicAuthority: publicAuthority(this.deps.config.rtmp.publicHost, this.server.rtmpPort),
      http: this.http,
    });
  }

  /**
   * Serves HTTP-FLV plays (`/flv/watch/<broadcast id>.flv?token=…`, ingest/flv.ts) on this process's HTTP server,
   * before the API's own handler, and records the server's address in the node registry so play URLs point
   * browsers here. `host` is the bind host (`0.0.0.0` / `::`: every interface), `port` the bound port.
   */
  async serveFlv(server: Server, addr: { host: string; port: number }): Promise<void> {
    const flv = new FlvPlays({
      server: this.server, viewers: this.viewers, logger: this.deps.logger,
      live: (id) => { const b = this.live.get(id); return b && !b.closed ? { ownerId: b.userId } : undefined; },
    });
    mountBeforeApp(server, (req, res) => flv.handle(req, res));
    this.http = {
      host: addr.host === '0.0.0.0' || addr.host === '::' ? null : addr.host, port: addr.port,
      publicUrl: this.deps.config.web.publicUrlSet ? this.deps.config.web.publicUrl : null,
    };
    await this.register();
    this.log.info({ port: addr.port }, 'HTTP-FLV plays served');
  }

  /** Stops accepting, ends every live broadcast (reason 'ingest shutdown') and stops the taps. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.deps.subscriber.unsubscribe(this.channel).catch(() => {});
    await unregisterIngestNode(this.redis, this.deps.config.redisPrefix, this.deps.config.nodeId).catch(() => {});
    await Promise.all([...this.live.values()].map((b) => this.close(b, 'ingest node shut down')));
    await this.server.stop();
    if (this.ownsRedis) this.redis.disconnect();
  }

  /** Disconnects a broadcast's publisher if this node holds it. @returns whether it did. */
  kick(broadcastId: string, reason: string): boolean {
    const b = this.live.get(broadcastId);
    if (!b) return false;
    b.endReason ??= reason;
    this.server.disconnect(b.session);
    void this.close(b, b.endReason);
    return true;
  }

  private onEnforcement(message: string): void {
    let msg: EnforcementMessage;
    try {
      msg = JSON.parse(message) as EnforcementMessage;
    } catch {
      this.log.warn('unparseable enforcement message ignored');
      return;
    }
    if (msg.type === 'end_stream') {
      if (this.kick(msg.broadcastId, msg.reason)) this.log.info({ broadcastId: msg.broadcastId, reason: msg.reason }, 'publisher kicked');
    } else if (msg.type === 'kick_user') {
      for (const b of this.live.values()) if (b.userId === msg.userId) this.kick(b.broadcastId, msg.reason);
      this.viewers.dropViewer(msg.userId, msg.reason);
    } else if (msg.type === 'restrict_user') {
      // a ban or suspension stops watching too (platform-wide, or in the one room); timeouts and mutes stop chat only
      if (msg.restriction.kind !== 'ban' && msg.restriction.kind !== 'suspension') return;
      const room = msg.scope.startsWith('room:') ? msg.scope.slice('room:'.length) : undefined;
      if (msg.scope === 'platform' || room) this.viewers.dropViewer(msg.userId, msg.restriction.reason, room);
    } else if (msg.type === 'drop_viewers') {
      const n = this.viewers.dropBroadcast(msg.broadcastId, msg.reason, { keepExempt: true });
      if (n) this.log.info({ broadcastId: msg.broadcastId, viewers: n, reason: msg.reason }, 'viewers disconnected');
    }
  }

  /**
   * The play gate node-media-server waits on: the tap's own play of `/live/<stream key>` (signed by this node;
   * viewers never get a signature for a publish path) once the publish is accepted; a viewer's play of
   * `/watch/<broadcast id>` when {@link ViewerSessions.admit} admits its token; nothing else.
   */
  private async admitPlay(session: NmsSession): Promise<boolean> {
    if (session.streamApp === 'live') return this.acceptedPaths.has(session.streamPath);
    if (session.streamApp !== PLAY_APP) return false;
    const b = this.live.get(session.streamName);
    return (await this.viewers.admit(session, b && !b.closed ? { ownerId: b.userId } : undefined)) === null;
  }

  /** node-media-server's own signature check follows: a play the gate did not admit loses any signature it brought. */
  private onPlay(session: NmsSession): void {
    const ok = session.streamApp === PLAY_APP ? this.viewers.admitted(session) : this.acceptedPaths.has(session.streamPath);
    if (!ok) this.server.refusePlay(session);
  }

  private async onPublish(session: NmsSession): Promise<void> {
    const key = session.streamName;
    const prefix = keyPrefix(key);
    const refuse = async (reason: string, detail: string, userId?: string) => {
      this.server.disconnect(session);
      this.deps.metrics.publishes.inc({ result: 'refused' });
      this.log.warn({ keyPrefix: prefix, reason, userId, ip: session.ip }, 'publish refused');
      this.events.emit('publish', { type: 'refused', reason, userId } satisfies PublishEvent);
      await this.deps.enforcer.recordPublishRefusal({ userId, keyPrefix: prefix, reason, detail, ip: session.ip, streamPath: `/${session.streamApp}/${prefix}…` })
        .catch((err) => this.log.error({ err: errorText(err) }, 'could not record a publish refusal'));
    };
    if (this.stopping) return refuse('shutting_down', 'ingest node is shutting down');
    if (session.streamApp !== 'live') return refuse('unknown_app', `publish to /${session.streamApp} (only /live is served)`);
    const verdict = await this.gate.check(key);
    if (!verdict.accepted) return refuse(verdict.reason, verdict.detail, verdict.userId);
    if (!this.server.isActivePublisher(session)) {
      this.log.info({ keyPrefix: prefix }, 'publisher left (or lost the path to another) before the gate answered');
      return;
    }
    let broadcastId: string;
    try {
      ({ id: broadcastId } = await openBroadcast(this.deps.db, { userId: verdict.userId, streamKeyId: verdict.streamKeyId, ingestNode: this.deps.config.nodeId }));
    } catch (err) {
      return refuse('gate_unavailable', `could not open the broadcast: ${errorText(err)}`, verdict.userId);
    }
    const tap = new StreamTap({
      input: this.server.signedPlayUrl(session.streamPath),
      sampleIntervalMs: this.deps.config.tap.sampleIntervalMs,
      nice: this.deps.config.analyzer.nice,
      onFrame: (f) => this.onFrame(b, f),
      onModeChange: (mode, note) => {
        this.log.info({ broadcastId, mode, note }, 'tap mode');
        void setTapMode(this.deps.db, broadcastId, mode, note).catch((err) => this.log.error({ err: errorText(err) }, 'tap mode not recorded'));
      },
      onExit: (info) => {
        if (info.reason === 'gave-up') this.log.error({ broadcastId, ...info }, 'tap gave up: frames of this broadcast are no longer sampled');
      },
      logger: this.log.child({ broadcastId }),
      ...(this.deps.config.tap.audio ? { audio: { ...this.deps.config.tap.audio, onChunk: (c: AudioChunk) => this.onAudio(b, c) } } : {}),
    });
    const b: LiveBroadcast = { broadcastId, userId: verdict.userId, session, tap, closed: false };
    this.live.set(broadcastId, b);
    this.acceptedPaths.add(session.streamPath);
    this.server.exposeForPlay(session.streamPath, playPath(broadcastId));
    session.socket?.once('close', () => void this.close(b, b.endReason ?? 'publisher disconnected'));
    if (session.socket?.destroyed) return void this.close(b, 'publisher disconnected');
    // where a panic press finds the performer's broadcast without asking Postgres
    void this.redis.set(liveBroadcastKey(this.deps.config.redisPrefix, verdict.userId), broadcastId, 'EX', LIVE_KEY_TTL_S)
      .catch((err) => this.log.error({ broadcastId, err: errorText(err) }, 'live broadcast not recorded in Redis'));
    this.deps.metrics.publishes.inc({ result: 'accepted' });
    this.log.info({ broadcastId, userId: verdict.userId, keyPrefix: prefix }, 'publish accepted');
    this.events.emit('publish', { type: 'accepted', broadcastId, userId: verdict.userId } satisfies PublishEvent);
    tap.start();
  }

  private async onFrame(b: LiveBroadcast, f: TapFrame): Promise<void> {
    if (b.closed) return;
    const { db, queues, config, metrics } = this.deps;
    const hash = await dHash(f.jpeg);
    const duplicate = b.last !== undefined && hammingDistance(hash, b.last.hash) <= config.tap.duplicateMaxDistance;
    const rel = path.join('samples', b.broadcastId, `${String(f.seq).padStart(7, '0')}.jpg`);
    await mkdir(path.join(config.dataDir, 'samples', b.broadcastId), { recursive: true });
    await writeFile(path.join(config.dataDir, rel), f.jpeg);
    const sample = await insertSample(db, {
      broadcastId: b.broadcastId, kind: 'frame', seq: f.seq, capturedAt: f.capturedAt, filePath: rel,
      width: f.width, height: f.height, phash: hash,
      status: duplicate ? 'duplicate' : 'queued', duplicateOf: duplicate ? b.last!.sampleId : null,
    });
    if (duplicate) {
      if (sample.inserted) await addDuplicateFrames(db, b.broadcastId);
      metrics.samples.inc({ kind: 'frame', status: 'duplicate' });
      await queues.add('evaluate-sample', { sampleId: sample.id });
    } else {
      b.last = { hash, sampleId: sample.id };
      metrics.samples.inc({ kind: 'frame', status: 'queued' });
      await queues.add('analyze-frame', { sampleId: sample.id });
    }
  }

  /**
   * Stores an audio chunk: with speech, its WAV file, a sample row and a transcription job; without, a
   * `silent` sample row only (nothing to transcribe). Also runs for the last chunk flushed after the
   * broadcast closed: what was said just before the end counts too.
   */
  private async onAudio(b: LiveBroadcast, c: AudioChunk): Promise<void> {
    const { db, queues, config, metrics } = this.deps;
    const silent = !c.activity.speech;
    const rel = path.join('samples', b.broadcastId, `audio-${String(c.seq).padStart(7, '0')}.wav`);
    if (!silent) {
      await mkdir(path.join(config.dataDir, 'samples', b.broadcastId), { recursive: true });
      await writeFile(path.join(config.dataDir, rel), encodeWav(c.pcm));
    }
    const sample = await insertSample(db, {
      broadcastId: b.broadcastId, kind: 'audio', seq: c.seq, capturedAt: c.startedAt, filePath: silent ? '' : rel,
      durationMs: c.durationMs, overlapMs: c.overlapMs, status: silent ? 'silent' : 'queued',
    });
    metrics.samples.inc({ kind: 'audio', status: silent ? 'silent' : 'queued' });
    if (!silent) await queues.add('transcribe-audio', { sampleId: sample.id });
  }

  private async close(b: LiveBroadcast, reason: string): Promise<void> {
    if (b.closed) return;
    b.closed = true;
    this.live.delete(b.broadcastId);
    this.acceptedPaths.delete(b.session.streamPath);
    this.server.withdrawPlay(playPath(b.broadcastId));
    this.viewers.dropBroadcast(b.broadcastId, 'broadcast ended', { keepExempt: false });
    void this.redis.eval(DEL_IF_EQUAL, 1, liveBroadcastKey(this.deps.config.redisPrefix, b.userId), b.broadcastId).catch(() => {});
    // the publisher is gone: record that first, then stop the tap (which may take a moment to exit)
    const tapStopped = b.tap.stop().catch((err) => this.log.warn({ err: errorText(err) }, 'tap stop failed'));
    try {
      await endBroadcast(this.deps.db, b.broadcastId, reason);
      await this.deps.enforcer.recordBroadcastEnded({ broadcastId: b.broadcastId, userId: b.userId, reason });
    } catch (err) {
      this.log.error({ broadcastId: b.broadcastId, err: errorText(err) }, 'could not close the broadcast row');
    }
    this.log.info({ broadcastId: b.broadcastId, reason }, 'broadcast ended');
    this.events.emit('publish', { type: 'ended', broadcastId: b.broadcastId, reason } satisfies PublishEvent);
    await tapStopped;
  }
}
