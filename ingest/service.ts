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
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import type { Metrics } from '../core/metrics.ts';
import { endBroadcast, endOrphanedBroadcasts, openBroadcast, setTapMode, type Db } from '../db/index.ts';
import type { Queues } from '../analyzer/jobs.ts';
import { enforcementChannel, liveBroadcastKey, type Enforcer, type EnforcementMessage } from '../moderation/index.ts';
import { PublishGate, auditPublishRefusal } from './gate.ts';
import { MediaServer, type NmsSession } from './media-server.ts';
import { FlvPlays, mountBeforeApp } from './flv.ts';
import { PLAY_APP, ViewerSessions, playPath, publicAuthority, registerIngestNode, unregisterIngestNode } from './play-gate.ts';
import { keyPrefix } from './stream-keys.ts';
import { StreamTap, type AudioChunk, type TapMode } from './tap.ts';
import { SamplingController } from './sampling.ts';
import type { Policy } from '../rules/index.ts';
import { RetryWriter } from './retry-writer.ts';
import { SampleRecorder, type SampleSeries } from './sample-recorder.ts';
import { ViewerCounts } from './viewer-counts.ts';
import type { ChildSpawner } from '../core/commands.ts';

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
  /** The policy in force: its thresholds tell adaptive sampling which broadcasts scored high (ingest/sampling.ts). */
  policy?: () => Policy;
  /** Starts the taps' ffmpeg (core/commands.ts) so this process's event loop never blocks on a spawn; default: spawned here. */
  spawner?: ChildSpawner;
}

/** A broadcast this node holds (its sample series: ingest/sample-recorder.ts). */
interface LiveBroadcast extends SampleSeries {
  userId: string;
  streamKeyId: string;
  /** The publisher's session now (a reconnect replaces it). */
  session: NmsSession;
  /** The tap now (a reconnect starts a new one; its sequence numbers continue the broadcast's). */
  tap: StreamTap;
  /** The publisher's connection was lost: waiting for it to reconnect (since, the end timer, the old tap stopping). */
  reconnecting?: { since: number; timer: NodeJS.Timeout; tapStopped: Promise<void> };
  endReason?: string;
  /** The tap's mode and its note, and adaptive sampling's note: written together as the broadcast's tap note. */
  tapMode?: { mode: TapMode; note: string };
  degradation?: string | null;
  /** When the tap note was last written, and a write waiting for the rate limit. */
  noteWrittenAt?: number;
  noteTimer?: NodeJS.Timeout;
}

/** A broadcast's tap note is written at most this often (adaptive sampling can change it every few seconds). */
const NOTE_EVERY_MS = 10_000;

/** What happened to a publish attempt (tests and the demo wait on these). */
export type PublishEvent =
  /** `continuesId`: the broadcast of the same key this one superseded (a reconnect to another node), else null. */
  | { type: 'accepted'; broadcastId: string; userId: string; continuesId: string | null }
  | { type: 'interrupted'; broadcastId: string; graceMs: number }
  | { type: 'resumed'; broadcastId: string; userId: string; gapMs: number }
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
  private readonly audience: ViewerCounts;
  /** Adaptive sampling: stretches intervals, prioritises and sheds audio when the analyzer is behind. */
  readonly sampling: SamplingController;
  /** Sample rows, their jobs and broadcast ends: retried in order per broadcast while Postgres or Redis is away. */
  private readonly writer: RetryWriter;
  /** Files, rows and jobs of the taps' frames and audio chunks. */
  private readonly recorder: SampleRecorder;
  private stopping = false;
  /** Where this node serves HTTP-FLV plays, once {@link serveFlv} mounted them. */
  private http: { host: string | null; port: number; publicUrl: string | null } | null = null;
  /** Observers of publish outcomes (demo, tests). */
  readonly events = new EventEmitter();

  constructor(private readonly deps: IngestDeps) {
    this.log = deps.logger.child({ subsystem: 'ingest' });
    this.gate = new PublishGate(deps.db);
    this.sampling = new SamplingController({ queues: deps.queues, db: deps.db, config: deps.config, metrics: deps.metrics, logger: deps.logger, policy: deps.policy });
    this.writer = new RetryWriter({ logger: this.log, onDrop: (_label, why) => deps.metrics.ingestWritesDropped.inc({ why }) });
    this.recorder = new SampleRecorder({ db: deps.db, queues: deps.queues, config: deps.config, metrics: deps.metrics, sampling: this.sampling, writer: this.writer });
    this.channel = enforcementChannel(deps.config.redisPrefix);
    this.server = new MediaServer({ host: deps.config.rtmp.host, port: deps.config.rtmp.port, stateDir: deps.config.dataDir, logger: deps.logger });
    this.server.on('prePublish', (s) => void this.onPublish(s));
    this.server.on('prePlay', (s) => this.onPlay(s));
    this.ownsRedis = !deps.redis;
    this.redis = deps.redis ?? deps.subscriber.duplicate({ connectionName: 'warden-ingest-play' });
    if (this.ownsRedis) this.redis.on('error', () => {}); // reconnects by itself; a failed command refuses the play
    this.audience = new ViewerCounts({ redis: this.redis, prefix: deps.config.redisPrefix, logger: this.log });
    this.viewers = new ViewerSessions({ redis: this.redis, prefix: deps.config.redisPrefix, server: this.server, logger: deps.logger, audience: this.audience });
    this.server.setPlayGate((s) => this.admitPlay(s));
    this.server.on('donePlay', (s) => this.viewers.left(s));
  }

  /** Viewers playing from this node now. */
  get viewerCount(): number {
    return this.viewers.count;
  }

  /**
   * The tap of a broadcast this node holds: its ffmpeg's pid (undefined between runs), its restarts and frames so
   * far, and whether the broadcast is waiting for its publisher to reconnect (diagnostics, fault tests).
   */
  tapState(broadcastId: string): { pid: number | undefined; restarts: number; frames: number; reconnecting: boolean } | undefined {
    const b = this.live.get(broadcastId);
    return b && { pid: b.tap.pid, restarts: b.tap.restarts, frames: b.tap.framesEmitted, reconnecting: b.reconnecting !== undefined };
  }

  /** Sample rows, jobs and broadcast ends waiting for Postgres or Redis on this node (see {@link RetryWriter}). */
  get pendingWrites(): number {
    return this.writer.pending;
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
    this.sampling.start();
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
      live: (id) => { const b = this.live.get(id); return b && !b.closed && !b.reconnecting ? { ownerId: b.userId } : undefined; },
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
    await this.audience.stop();
    await this.server.stop();
    await this.sampling.stop();
    const lost = await this.writer.flush(5000);
    if (lost) this.log.error({ lost }, 'writes still pending at shutdown were lost (the stores did not come back in time)');
    if (this.ownsRedis) this.redis.disconnect();
  }

  /** Disconnects a broadcast's publisher if this node holds it. @returns whether it did. */
  kick(broadcastId: string, reason: string): boolean {
    const b = this.live.get(broadcastId);
    if (!b) return false;
    b.endReason ??= reason;
    this.server.disconnect(b.session); // (while reconnecting, the old session is gone already)
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
    // while the publisher reconnects there is nothing to play (the play API's next token works once it is back)
    return (await this.viewers.admit(session, b && !b.closed && !b.reconnecting ? { ownerId: b.userId } : undefined)) === null;
  }

  /** node-media-server's own signature check follows: a play the gate did not admit loses any signature it brought. */
  private onPlay(session: NmsSession): void {
    const ok = session.streamApp === PLAY_APP ? this.viewers.admitted(session) : this.acceptedPaths.has(session.streamPath);
    if (!ok) this.server.refusePlay(session);
  }

  private async onPublish(session: NmsSession): Promise<void> {
    const key = session.streamName;
    const prefix = keyPrefix(key);
    const refuse = (reason: string, detail: string, userId?: string): void => {
      this.server.disconnect(session);
      this.deps.metrics.publishes.inc({ result: 'refused' });
      this.log.warn({ keyPrefix: prefix, reason, userId, ip: session.ip }, 'publish refused');
      this.events.emit('publish', { type: 'refused', reason, userId } satisfies PublishEvent);
      auditPublishRefusal(this.writer, this.deps.enforcer, { userId, keyPrefix: prefix, reason, detail, ip: session.ip, app: session.streamApp });
    };
    if (this.stopping) return refuse('shutting_down', 'ingest node is shutting down');
    if (session.streamApp !== 'live') return refuse('unknown_app', `publish to /${session.streamApp} (only /live is served)`);
    const verdict = await this.gate.check(key);
    if (!verdict.accepted) return refuse(verdict.reason, verdict.detail, verdict.userId);
    if (!this.server.isActivePublisher(session)) {
      this.log.info({ keyPrefix: prefix }, 'publisher left (or lost the path to another) before the gate answered');
      return;
    }
    // the same stream key reconnecting after a lost connection continues its broadcast (the gate has just passed it again)
    const interrupted = [...this.live.values()].find((x) => x.streamKeyId === verdict.streamKeyId && x.reconnecting && !x.closed);
    if (interrupted) return this.resume(interrupted, session);
    let broadcastId: string;
    let continuesId: string | null;
    try {
      const opened = await openBroadcast(this.deps.db, { userId: verdict.userId, streamKeyId: verdict.streamKeyId, ingestNode: this.deps.config.nodeId });
      broadcastId = opened.id;
      continuesId = opened.continuesId;
      // the same key still live elsewhere (an encoder that reconnected to this node first): the newer publish wins,
      // and whichever node holds the older one disconnects it (its row is already ended as superseded)
      for (const old of opened.superseded) {
        this.log.info({ broadcastId, superseded: old.id, node: old.ingestNode }, 'publish supersedes a live broadcast of the same key');
        void this.redis.publish(this.channel, JSON.stringify({ type: 'end_stream', broadcastId: old.id, reason: `superseded by a new publish on ${this.deps.config.nodeId}` } satisfies EnforcementMessage))
          .catch((err) => this.log.error({ err: errorText(err) }, 'superseded broadcast not announced'));
      }
    } catch (err) {
      return refuse('gate_unavailable', `could not open the broadcast: ${errorText(err)}`, verdict.userId);
    }
    const b: LiveBroadcast = {
      broadcastId, userId: verdict.userId, streamKeyId: verdict.streamKeyId, session, tap: undefined as unknown as StreamTap, closed: false,
      seqBase: { frame: 0, audio: 0 }, seqNext: { frame: 0, audio: 0 },
    };
    b.tap = this.createTap(b);
    this.live.set(broadcastId, b);
    this.audience.track(broadcastId);
    this.acceptedPaths.add(session.streamPath);
    this.server.exposeForPlay(session.streamPath, playPath(broadcastId));
    session.socket?.once('close', () => this.onPublisherGone(b, session));
    if (session.socket?.destroyed) return void this.close(b, 'publisher disconnected');
    // where a panic press finds the performer's broadcast without asking Postgres
    void this.redis.set(liveBroadcastKey(this.deps.config.redisPrefix, verdict.userId), broadcastId, 'EX', LIVE_KEY_TTL_S)
      .catch((err) => this.log.error({ broadcastId, err: errorText(err) }, 'live broadcast not recorded in Redis'));
    this.deps.metrics.publishes.inc({ result: 'accepted' });
    this.log.info({ broadcastId, userId: verdict.userId, keyPrefix: prefix, continuesId }, 'publish accepted');
    this.events.emit('publish', { type: 'accepted', broadcastId, userId: verdict.userId, continuesId } satisfies PublishEvent);
    this.sampling.register({
      broadcastId, userId: verdict.userId,
      setIntervalMs: (ms) => b.tap.setSampleInterval(ms),
      setDegradationNote: (note) => { b.degradation = note; this.writeTapNote(b, false); },
    });
    b.tap.start();
  }

  /** A tap on the broadcast's publish path now; its sequence numbers are offset by `b.seqBase` where they are stored. */
  private createTap(b: LiveBroadcast): StreamTap {
    const { broadcastId } = b;
    return new StreamTap({
      // fed from node-media-server's broadcast in this process (keyframes only); the signed RTMP URL is for logs
      input: this.server.signedPlayUrl(b.session.streamPath),
      source: this.server.tapSource(b.session.streamPath),
      sampleIntervalMs: this.deps.config.tap.sampleIntervalMs,
      nice: this.deps.config.tap.nice,
      spawner: this.deps.spawner,
      onFrame: (f) => this.recorder.frame(b, f),
      onModeChange: (mode, note) => {
        this.log.info({ broadcastId, mode, note }, 'tap mode');
        b.tapMode = { mode, note };
        this.writeTapNote(b, true);
      },
      onShed: (reason) => this.deps.metrics.samplesShed.inc({ kind: 'frame', reason: reason === 'interval' ? 'interval_stretched' : 'ingest_behind' }),
      onExit: (info) => {
        if (info.reason === 'gave-up') this.log.error({ broadcastId, ...info }, 'tap gave up: frames of this broadcast are no longer sampled');
      },
      logger: this.log.child({ broadcastId }),
      ...(this.deps.config.tap.audio ? { audio: { ...this.deps.config.tap.audio, onChunk: (c: AudioChunk) => this.recorder.audio(b, c) } } : {}),
    });
  }

  /**
   * The publisher's connection closed. A kick, a shutdown, or a publisher that said it stopped (RTMP deleteStream)
   * ends the broadcast at once. A connection lost without that (network drop, encoder crash) keeps the broadcast live
   * for RECONNECT_GRACE_S: its tap stops, its viewers are disconnected and its play path withdrawn (a reconnecting
   * publisher feeds no one before the gate has passed it again), chat and the panic button carry on; a publish of the
   * same stream key on this node within the grace continues it ({@link resume}), else it ends then.
   */
  private onPublisherGone(b: LiveBroadcast, session: NmsSession): void {
    if (b.closed || b.session !== session || b.reconnecting) return;
    const graceMs = this.deps.config.ingest.reconnectGraceMs;
    if (b.endReason || this.stopping || graceMs <= 0 || this.server.stoppedByPublisher(session)) {
      void this.close(b, b.endReason ?? 'publisher disconnected');
      return;
    }
    this.acceptedPaths.delete(session.streamPath);
    this.server.withdrawPlay(playPath(b.broadcastId));
    this.viewers.dropBroadcast(b.broadcastId, 'the performer\'s connection dropped', { keepExempt: false });
    const tapStopped = b.tap.stop().catch((err) => this.log.warn({ err: errorText(err) }, 'tap stop failed'));
    const timer = setTimeout(() => void this.close(b, `publisher connection lost (no reconnect within ${Math.round(graceMs / 1000)} s)`), graceMs);
    b.reconnecting = { since: Date.now(), timer, tapStopped };
    this.log.warn({ broadcastId: b.broadcastId, graceMs }, 'publisher connection lost: waiting for a reconnect');
    this.events.emit('publish', { type: 'interrupted', broadcastId: b.broadcastId, graceMs } satisfies PublishEvent);
  }

  /**
   * Continues an interrupted broadcast with a reconnected publisher (already passed by the gate): same broadcast id,
   * a new tap whose sequence numbers follow the old tap's, the play path exposed again.
   */
  private async resume(b: LiveBroadcast, session: NmsSession): Promise<void> {
    const r = b.reconnecting!;
    clearTimeout(r.timer);
    b.reconnecting = undefined;
    b.session = session;
    await r.tapStopped; // its last audio chunk has taken its sequence number
    if (b.closed) return void this.server.disconnect(session); // ended meanwhile (a kick, a moderator)
    b.seqBase = { ...b.seqNext };
    const intervalMs = b.tap.sampleIntervalMs; // as adaptive sampling set it
    b.tap = this.createTap(b);
    b.tap.setSampleInterval(intervalMs);
    this.acceptedPaths.add(session.streamPath);
    this.server.exposeForPlay(session.streamPath, playPath(b.broadcastId));
    session.socket?.once('close', () => this.onPublisherGone(b, session));
    if (session.socket?.destroyed) return this.onPublisherGone(b, session);
    void this.redis.set(liveBroadcastKey(this.deps.config.redisPrefix, b.userId), b.broadcastId, 'EX', LIVE_KEY_TTL_S)
      .catch((err) => this.log.error({ broadcastId: b.broadcastId, err: errorText(err) }, 'live broadcast not recorded in Redis'));
    const gapMs = Date.now() - r.since;
    this.deps.metrics.publishes.inc({ result: 'resumed' });
    this.log.info({ broadcastId: b.broadcastId, userId: b.userId, gapMs, seqBase: b.seqBase }, 'publisher reconnected: the broadcast continues');
    this.events.emit('publish', { type: 'resumed', broadcastId: b.broadcastId, userId: b.userId, gapMs } satisfies PublishEvent);
    b.tap.start();
  }

  /**
   * Writes the broadcast's tap note: the tap's mode note, then what adaptive sampling does to it (sampling reduced,
   * speech not transcribed), so moderators see it. Mode changes are written at once; degradation notes at most every
   * {@link NOTE_EVERY_MS} (the latest one wins). Nothing is written before the tap reports its mode.
   */
  private writeTapNote(b: LiveBroadcast, now: boolean): void {
    if (!b.tapMode || b.closed) return;
    const wait = now || b.noteWrittenAt === undefined ? 0 : b.noteWrittenAt + NOTE_EVERY_MS - Date.now();
    if (wait > 0) {
      b.noteTimer ??= setTimeout(() => { b.noteTimer = undefined; this.writeTapNote(b, false); }, wait);
      return;
    }
    clearTimeout(b.noteTimer);
    b.noteTimer = undefined;
    b.noteWrittenAt = Date.now();
    const note = b.degradation ? `${b.tapMode.note}; ${b.degradation}` : b.tapMode.note;
    if (b.degradation) this.log.debug({ broadcastId: b.broadcastId, degradation: b.degradation }, 'broadcast sampling degraded');
    void setTapMode(this.deps.db, b.broadcastId, b.tapMode.mode, note).catch((err) => this.log.error({ err: errorText(err) }, 'tap note not recorded'));
  }

  private async close(b: LiveBroadcast, reason: string): Promise<void> {
    if (b.closed) return;
    b.closed = true;
    clearTimeout(b.noteTimer);
    clearTimeout(b.reconnecting?.timer);
    this.sampling.unregister(b.broadcastId);
    this.live.delete(b.broadcastId);
    this.acceptedPaths.delete(b.session.streamPath);
    this.server.withdrawPlay(playPath(b.broadcastId));
    this.viewers.dropBroadcast(b.broadcastId, 'broadcast ended', { keepExempt: false });
    this.audience.untrack(b.broadcastId);
    void this.redis.eval(DEL_IF_EQUAL, 1, liveBroadcastKey(this.deps.config.redisPrefix, b.userId), b.broadcastId).catch(() => {});
    // the publisher is gone: record that first, then stop the tap (which may take a moment to exit)
    const tapStopped = b.tap.stop().catch((err) => this.log.warn({ err: errorText(err) }, 'tap stop failed'));
    // the row and the audit entry, after the samples already taken (same lane); retried while Postgres is away, and
    // waited for a moment only (observers hear of the end either way)
    const ended = this.writer.submit(b.broadcastId, `end of ${b.broadcastId}`, async () => {
      await endBroadcast(this.deps.db, b.broadcastId, reason);
      await this.deps.enforcer.recordBroadcastEnded({ broadcastId: b.broadcastId, userId: b.userId, reason });
    });
    let timer: NodeJS.Timeout | undefined;
    const stored = await Promise.race([ended, new Promise<false>((r) => { timer = setTimeout(() => r(false), 2000); })]);
    clearTimeout(timer);
    if (!stored) this.log.error({ broadcastId: b.broadcastId }, 'broadcast end not stored yet (retried until Postgres answers)');
    this.log.info({ broadcastId: b.broadcastId, reason }, 'broadcast ended');
    this.events.emit('publish', { type: 'ended', broadcastId: b.broadcastId, reason } satisfies PublishEvent);
    await tapStopped;
  }
}
