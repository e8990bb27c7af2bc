/**
 * The embedded RTMP server: node-media-server v4, with its HTTP server, web admin, REST API and HTTP notify
 * left off (they ship with a default password and fail open). Warden's gate and kick replace them. With no HTTP
 * port, node-media-server serves no HTTP-FLV (nor WebSocket-FLV) of its own: browsers play HTTP-FLV from Warden's
 * HTTP server instead (ingest/flv.ts), through {@link MediaServer.flvSession} and the same play gate.
 *
 * node-media-server has no pre-accept veto: its `prePublish` event is emitted synchronously and its return
 * value ignored. So Warden (a) lets the RTMP handshake finish, runs its gate asynchronously and destroys the
 * socket of a refused publisher, and (b) turns on the server's play signature check and withholds signatures
 * (and, for a stream the gate has not accepted, strips the signature in `prePlay`), so nobody can play a
 * stream before it is accepted: a refused publisher is disconnected before any viewer receives a frame.
 *
 * Plays get a real veto: {@link MediaServer.setPlayGate} holds an RTMP `play` command until an asynchronous
 * check (Warden's one-time play token, in Redis) answers; only an admitted play is given a signature
 * ({@link MediaServer.signPlay}) and reaches node-media-server's own check, so not one frame is sent before
 * the answer, and a play that somehow skipped the gate still fails the signature check.
 *
 * Viewers never see a publish path (`/live/<stream key>`: the key is the publisher's secret). A live broadcast is
 * exposed to players under a second path (`/watch/<broadcast id>`, {@link MediaServer.exposeForPlay}) that
 * names node-media-server's same broadcast object.
 *
 * node-media-server keeps its state in a module-level singleton: one MediaServer per process.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.ts';
import type { TapSource } from './tap-feed.ts';
import { installLeanRelay, type RelayedBroadcast } from './relay.ts';

const require = createRequire(import.meta.url);

/** The parts of node-media-server's BroadcastServer Warden uses. */
interface NmsBroadcast {
  publisher: NmsSession | null;
  /** Adds a subscriber and sends it the cached headers and GOP (an error string when refused). */
  postPlay(session: object): string | null;
  donePlay(session: object): void;
}

/** The parts of a node-media-server session Warden uses. */
export interface NmsSession {
  id: string;
  ip: string;
  protocol: string;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, string | undefined>;
  isPublisher: boolean;
  socket?: Socket;
}

interface Nms {
  on(event: string, fn: (s: NmsSession) => void): void;
  run(): Promise<void>;
  stop(): Promise<void>;
  rtmpServer: { tcpServer?: import('node:net').Server };
}

/** node-media-server's HTTP-FLV play session: joins its stream on `run()`, writes FLV tags with `sendBuffer`. */
export interface FlvPlaySession extends NmsSession {
  run(): void;
  sendBuffer(buffer: Buffer): void;
}

/** node-media-server's RTMP session internals the play gate hooks (its protocol's play callback). */
interface RtmpSessionInternals extends NmsSession {
  rtmp?: { onPlayCallback: () => void; onDeleteStream: (message: unknown) => void };
}

/**
 * Decides whether a play may start: resolves true to let node-media-server start it (the gate must have called
 * {@link MediaServer.signPlay}), false to refuse it (the socket is destroyed). A rejection counts as false.
 */
export type PlayGate = (session: NmsSession) => Promise<boolean>;

export interface MediaServerOptions {
  host: string;
  port: number;
  /** Directory for the server's own state (its JSON store). */
  stateDir: string;
  logger: Logger;
}

/** Longest time an RTMP connection may take to start publishing or have a play admitted before it is dropped. */
export const SETUP_TIMEOUT_MS = 10_000;
/** How long a connection node-media-server ended (half-closed) may linger before it is destroyed. */
export const END_GRACE_MS = 1000;
/** Stream app and name as node-media-server accepts them (letters, digits, `_`, `-`); anything else is refused. */
const SAFE_NAME = /^[A-Za-z0-9_-]+$/;

/** Whether a session names a stream the way node-media-server allows (it emits events for some it refused). */
function wellFormed(s: NmsSession): boolean {
  return typeof s.streamApp === 'string' && typeof s.streamName === 'string' && SAFE_NAME.test(s.streamApp) && SAFE_NAME.test(s.streamName)
    && s.streamPath === `/${s.streamApp}/${s.streamName}`;
}

/** Replaces stream names (stream keys) in node-media-server's log lines with their first characters. */
function redactKeys(message: string): string {
  return String(message).replace(/\/(\w+)\/(wk_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]*/g, '/$1/$2…');
}

export class MediaServer {
  private readonly nms: Nms;
  private readonly secret = randomBytes(32).toString('hex');
  private readonly listeners: [string, (s: NmsSession) => void][] = [];
  private readonly context: { eventEmitter: import('node:events').EventEmitter; sessions: Map<string, NmsSession>; broadcasts: Map<string, NmsBroadcast> };
  private playGate: PlayGate = async () => false;
  /** Sessions that started publishing (the gate decides them) or had a play admitted: no setup deadline. */
  private readonly engaged = new WeakSet<NmsSession>();
  /** Sessions whose publisher said it stopped (RTMP `deleteStream`) before its connection closed. */
  private readonly unpublished = new WeakSet<NmsSession>();

  constructor(private readonly opts: MediaServerOptions) {
    const nmsLogger = require('node-media-server/src/core/logger.js');
    const log = opts.logger.child({ subsystem: 'media-server' });
    const levels: Record<string, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { trace: 'trace', debug: 'debug', info: 'debug', warn: 'warn', error: 'warn' };
    nmsLogger.log = (message: string, level = 'info') => log[levels[level] ?? 'debug'](redactKeys(message));
    const NodeMediaServer = require('node-media-server');
    this.context = require('node-media-server/src/core/context.js');
    this.nms = new NodeMediaServer({
      bind: opts.host,
      rtmp: { port: opts.port },
      auth: { play: true, publish: false, secret: this.secret, jwt: undefined },
      store: { path: path.join(opts.stateDir, 'media-server') },
    });
    // runs after node-media-server's own connection handler, which has just created and registered the session
    this.nms.rtmpServer.tcpServer?.on('connection', (socket: Socket) => this.holdPlays(socket));
    // before the publisher's first packet: its broadcast relays without node-media-server's unread copies (relay.ts)
    const lean = (s: NmsSession) => {
      const b = this.context.broadcasts.get(s.streamPath);
      if (b) installLeanRelay(b as unknown as RelayedBroadcast);
    };
    this.listeners.push(['prePublish', lean]);
    this.context.eventEmitter.on('prePublish', lean);
  }

  /** Sets the check every RTMP play waits for (by default every play is refused). */
  setPlayGate(gate: PlayGate): void {
    this.playGate = gate;
  }

  /**
   * Wraps a new RTMP session's play callback: the `play` command is answered by the protocol layer as before,
   * but node-media-server attaches the player to the stream (and sends the first frame) only once the gate says yes.
   */
  private holdPlays(socket: Socket): void {
    let session: RtmpSessionInternals | undefined;
    for (const s of this.context.sessions.values()) if (s.socket === socket) session = s; // the newest is last
    const rtmp = session?.rtmp;
    if (!session || !rtmp) {
      socket.destroy(); // fail closed: a session the gate cannot hold is not served
      return;
    }
    const start = rtmp.onPlayCallback;
    const held = session;
    this.guard(socket, held);
    // an encoder that stops streaming says so (FCUnpublish, deleteStream) before closing; a dropped connection does not
    rtmp.onDeleteStream = () => { this.unpublished.add(held); };
    rtmp.onPlayCallback = () => {
      void this.playGate(held).catch(() => false).then((ok) => {
        if (socket.destroyed) return;
        if (ok) { this.engaged.add(held); start(); } else socket.destroy();
      });
    };
  }

  /**
   * Contains what a client can do to node-media-server's RTMP parser, which trusts its input: an exception while
   * parsing (a `connect` without a tcUrl, a `publish` without a stream name, a control message too short for its
   * field) would be thrown from a socket event and end the whole process, so each chunk is parsed inside a
   * try/catch and a connection that throws is destroyed. The parser's own refusals only half-close the socket
   * (`end()`); the connection is destroyed {@link END_GRACE_MS} later whatever the client does. A connection that
   * has neither started publishing nor had a play admitted within {@link SETUP_TIMEOUT_MS} (random bytes, a
   * handshake that never finishes, a client that connects and waits) is destroyed too.
   */
  private guard(socket: Socket, session: NmsSession): void {
    const log = this.opts.logger.child({ subsystem: 'media-server' });
    for (const parse of socket.listeners('data') as ((d: Buffer) => void)[]) {
      socket.off('data', parse);
      socket.on('data', (d: Buffer) => {
        try {
          parse.call(socket, d);
        } catch (err) {
          log.warn({ sessionId: session.id, ip: session.ip, err: err instanceof Error ? err.message : String(err) }, 'RTMP input the parser could not handle: connection dropped');
          socket.destroy();
        }
      });
    }
    const end = socket.end.bind(socket);
    socket.end = ((...args: Parameters<Socket['end']>) => {
      setTimeout(() => socket.destroy(), END_GRACE_MS).unref();
      return end(...args);
    }) as Socket['end'];
    const setup = setTimeout(() => {
      if (!this.engaged.has(session) && !socket.destroyed) {
        log.info({ sessionId: session.id, ip: session.ip }, `RTMP connection neither published nor played within ${SETUP_TIMEOUT_MS} ms: dropped`);
        socket.destroy();
      }
    }, SETUP_TIMEOUT_MS).unref();
    socket.once('close', () => clearTimeout(setup));
  }

  /**
   * Subscribes to a node-media-server event (prePublish, postPublish, donePublish, prePlay, donePlay). Publish and
   * play events of a session without a well-formed stream path (node-media-server still emits `prePublish` after
   * refusing a name it does not allow) are not passed on: the session's connection is destroyed instead.
   */
  on(event: 'prePublish' | 'postPublish' | 'donePublish' | 'prePlay' | 'donePlay', fn: (s: NmsSession) => void): void {
    const checked = (s: NmsSession) => {
      if ((event === 'prePublish' || event === 'prePlay') && !wellFormed(s)) {
        s.socket?.destroy();
        return;
      }
      if (event === 'prePublish') this.engaged.add(s); // the publish gate decides it from here
      fn(s);
    };
    this.listeners.push([event, checked]);
    this.nms.on(event, checked);
  }

  /** Starts listening; resolves once the RTMP port is bound. */
  async start(): Promise<void> {
    await this.nms.run();
    const server = this.nms.rtmpServer.tcpServer;
    if (server && !server.listening) await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  }

  /** Stops listening and drops every connection; removes Warden's listeners from the shared emitter. */
  async stop(): Promise<void> {
    for (const [event, fn] of this.listeners) this.context.eventEmitter.off(event, fn);
    this.listeners.length = 0;
    await this.nms.stop();
  }

  /** Disconnects a session at once (destroys its socket; a kicked publisher gets no graceful close). */
  disconnect(session: NmsSession): void {
    session.socket?.destroy();
  }

  /**
   * Whether the session's publisher said it stopped (RTMP `deleteStream`, as OBS and ffmpeg send when they stop
   * streaming) rather than losing its connection.
   */
  stoppedByPublisher(session: NmsSession): boolean {
    return this.unpublished.has(session);
  }

  /** Whether the session is the current publisher of its stream path and still connected. */
  isActivePublisher(session: NmsSession): boolean {
    const b = this.context.broadcasts.get(session.streamPath);
    return b?.publisher === session && !session.socket?.destroyed;
  }

  /**
   * The broadcast's FLV data for a tap inside this process (ingest/tap-feed.ts): each `open` joins node-media-server's
   * broadcast as an internal subscriber (no socket, no play events, no viewer count: node-media-server's own internal
   * sessions have no address either), receiving the FLV header, the cached metadata, sequence headers and current GOP,
   * then every tag node-media-server builds for HTTP-FLV players anyway. @throws from `open` when the path is not
   * being published here.
   */
  tapSource(streamPath: string): TapSource {
    return {
      open: (sink) => {
        const broadcast = this.context.broadcasts.get(streamPath);
        if (!broadcast?.publisher) throw new Error(`${streamPath} is not being published on this node`);
        const session = { id: `tap-${randomBytes(6).toString('hex')}`, ip: '', protocol: 'flv', streamPath, endTime: 0, sendBuffer: sink };
        const err = broadcast.postPlay(session);
        if (err) throw new Error(err);
        return () => broadcast.donePlay(session);
      },
    };
  }

  /**
   * A local play URL with a signature the server accepts (node-media-server's scheme:
   * `sign=<expiry>-md5(<path>-<expiry>-<secret>)`), for a local RTMP reader (the tap names its input by it in logs; it
   * is fed through {@link tapSource}). Never handed to viewers.
   */
  signedPlayUrl(streamPath: string, ttlSeconds = 24 * 3600): string {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const hash = createHash('md5').update(`${streamPath}-${exp}-${this.secret}`).digest('hex');
    return `rtmp://127.0.0.1:${this.opts.port}${streamPath}?sign=${exp}-${hash}`;
  }

  /** Makes the server's own signature check refuse this play (called from prePlay for a stream not accepted). */
  refusePlay(session: NmsSession): void {
    session.streamQuery = {};
  }

  /**
   * Gives an admitted play a signature node-media-server accepts (valid `ttlSeconds`), replacing whatever the
   * player sent. Called by the play gate only; a viewer's URL never carries a signature.
   */
  signPlay(session: NmsSession, ttlSeconds = 60): void {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const hash = createHash('md5').update(`${session.streamPath}-${exp}-${this.secret}`).digest('hex');
    session.streamQuery = { sign: `${exp}-${hash}` };
  }

  /**
   * Exposes a live stream to players under a second path (`/watch/<broadcast id>`): the same broadcast object,
   * so players of `playPath` receive what the publisher of `streamPath` sends.
   * @returns false when `streamPath` has no broadcast on this server (the publisher left).
   */
  exposeForPlay(streamPath: string, playPath: string): boolean {
    const b = this.context.broadcasts.get(streamPath);
    if (!b) return false;
    this.context.broadcasts.set(playPath, b);
    return true;
  }

  /**
   * An HTTP-FLV play of an exposed play path (`/watch/<broadcast id>`), writing to `res`: node-media-server's own
   * FlvSession, not yet joined (`run()` joins it, which sends the FLV header, the codec headers and the cached
   * group of pictures, then every tag). Its `socket` is the request's, so {@link disconnect} ends it. Created only
   * for a path with a live broadcast, so a refused or stale request never makes node-media-server open an empty
   * stream that waits for a publisher. The caller signs it (the play gate) before `run()`.
   * @returns null when `playPath` has no broadcast on this server.
   */
  flvSession(req: IncomingMessage, res: ServerResponse, playPath: string): FlvPlaySession | null {
    if (!this.context.broadcasts.get(playPath)) return null;
    const [, app, name] = playPath.split('/');
    const FlvSession = require('node-media-server/src/session/flv_session.js');
    // FlvSession reads express's request fields; the query (the viewer's token) is deliberately not passed on
    const shaped = Object.assign(req, { params: { app, name }, query: {}, hostname: '' });
    const session = new FlvSession(shaped, res) as FlvPlaySession;
    session.socket = req.socket as Socket;
    return session;
  }

  /** Removes a play path exposed by {@link exposeForPlay} (players still attached are dropped separately). */
  withdrawPlay(playPath: string): void {
    this.context.broadcasts.delete(playPath);
  }

  /** The RTMP port the server listens on (the configured one; resolved when it was 0). */
  get rtmpPort(): number {
    const addr = this.nms.rtmpServer.tcpServer?.address();
    return typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }
}
