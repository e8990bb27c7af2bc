/**
 * The load generator (`warden loadgen`, and the capacity bench's load): N real RTMP streams published cheaply (a short
 * real 720p30 H.264/AAC clip encoded once, then sent N times with stream copy, looped at real-time pace, one ffmpeg
 * each at the lowest priority since they stand in for remote encoders), M chat viewers over WebSocket spread across the
 * N rooms posting R messages per second in all (bench/loadgen-chat.ts, a process of its own), and what it saw.
 *
 * Targets: loopback by default (the RTMP and HTTP ports of the configuration), where it seeds N verified performers
 * with stream keys and M adult viewer sessions in the configuration's database and reads back what became of every
 * sample; a non-loopback target only when both `--url` and `--api` are given, with the stream keys from a file (and
 * viewers' session tokens from another: a remote database cannot be seeded), and then sample figures are not read.
 * Anything else is refused ({@link LoadgenRefusal}).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../core/config.ts';
import { connectDatabase, performerLiveBroadcast, sampleOutcomes, type Database, type Db } from '../db/index.ts';
import { buildDemoVideo, publishRtmp, samplePhotos, type RtmpPublisher } from '../bin/demo-media.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { CpuSampler, wardenClassifier, type CpuWindow } from './cpu.ts';
import type { ChatCommand, ChatReply, ChatWindow } from './loadgen-chat.ts';

/** A refused invocation: the message says why and what to give instead (the CLI exits 2 with it). */
export class LoadgenRefusal extends Error {
  override name = 'LoadgenRefusal';
}

/** Options of a load generation run. */
export interface LoadgenOptions {
  streams: number;
  viewers: number;
  /** Chat messages per second, in all. */
  chatRate: number;
  /** How long to hold the load, seconds (default 30). */
  seconds?: number;
  /** RTMP base URL to publish to (`rtmp://HOST:PORT/live`): default the configuration's, on loopback. */
  url?: string;
  /** HTTP base URL of the API (`http://HOST:PORT`): default the configuration's, on loopback. */
  api?: string;
  /** Stream keys, one per stream (required for a non-loopback target). */
  keys?: string[];
  /** Viewers' session tokens, one per viewer (required for viewers on a non-loopback target). */
  tokens?: string[];
}

/** Where the load goes. */
export interface LoadTarget { rtmp: string; api: string; loopback: boolean }

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(?:\.\d{1,3}){3}\]?)$/i;

/** Whether a host name is a loopback address (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * Decides where the load goes, or refuses. Loopback is the default (the configuration's RTMP and HTTP ports on
 * 127.0.0.1); a URL given explicitly may name another host only when both `url` and `api` are given and the stream keys
 * come from a file (and, with viewers, their session tokens).
 * @throws LoadgenRefusal naming what is wrong.
 */
export function resolveTarget(o: Pick<LoadgenOptions, 'url' | 'api' | 'keys' | 'tokens' | 'streams' | 'viewers'>, config: Pick<Config, 'rtmp' | 'http'>): LoadTarget {
  const local = (bind: string) => (bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind);
  const parse = (value: string, schemes: string[], flag: string): URL => {
    let u: URL;
    try { u = new URL(value); } catch { throw new LoadgenRefusal(`${flag}: "${value}" is not a URL`); }
    if (!schemes.includes(u.protocol)) throw new LoadgenRefusal(`${flag}: expected ${schemes.map((s) => `${s}//`).join(' or ')}, got ${u.protocol}//`);
    if (u.username || u.password) throw new LoadgenRefusal(`${flag}: credentials in the URL are not accepted`);
    return u;
  };
  const rtmpUrl = parse(o.url ?? `rtmp://${local(config.rtmp.host)}:${config.rtmp.port}/live`, ['rtmp:'], '--url');
  const apiUrl = parse(o.api ?? `http://${local(config.http.host)}:${config.http.port}`, ['http:', 'https:'], '--api');
  const hostOf = (u: URL) => u.hostname.replace(/^\[|\]$/g, '');
  const loopback = isLoopbackHost(hostOf(rtmpUrl)) && isLoopbackHost(hostOf(apiUrl));
  if (!loopback) {
    if (o.url === undefined || o.api === undefined) {
      const implied = o.url === undefined && o.api === undefined ? 'the configuration\'s RTMP_HOST/HTTP_HOST are' : 'the address given is';
      throw new LoadgenRefusal(`refusing a non-loopback target: ${implied} not loopback; load goes elsewhere only with both --url and --api given explicitly (and --keys FILE)`);
    }
    if (!o.keys) throw new LoadgenRefusal('a non-loopback target needs --keys FILE (one stream key per line): a remote database cannot be seeded');
    if (o.viewers > 0 && !o.tokens) throw new LoadgenRefusal('chat viewers on a non-loopback target need --tokens FILE (one viewer session token per line), or --viewers 0');
  }
  if (o.keys && o.keys.length < o.streams) throw new LoadgenRefusal(`--keys: ${o.keys.length} stream keys for ${o.streams} streams`);
  if (o.tokens && o.tokens.length < o.viewers) throw new LoadgenRefusal(`--tokens: ${o.tokens.length} session tokens for ${o.viewers} viewers`);
  return { rtmp: rtmpUrl.href.replace(/\/+$/, ''), api: apiUrl.origin, loopback };
}

/** Reads a file of one value per line (blank lines and `#` comments skipped). @throws LoadgenRefusal when unreadable. */
export async function readLines(file: string, flag: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  } catch (err) {
    throw new LoadgenRefusal(`${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Latency percentiles in ms (nearest rank) and the count. */
export interface Percentiles { p50: number; p95: number; p99: number; max: number; n: number }

/** Nearest-rank percentiles of `ms`, to 0.01 ms (NaN when empty). */
export function percentiles(ms: number[]): Percentiles {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : Number.NaN);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(s.at(-1) ?? Number.NaN), n: s.length };
}

/** What became of the samples of the load's broadcasts captured in a window (loopback only). */
export interface SampleFigures {
  frames: { taken: number; analysed: number; duplicate: number; queued: number; failed: number; skipped: number };
  audio: { taken: number; analysed: number; silent: number; queued: number; failed: number; skipped: number };
  /** Capture → analysed, ms, of the frames analysed (a frame still queued at the end counts as later than any). */
  frameLatencyMs: Percentiles;
  /** Frames analysed within 5 s of capture, of those that needed analysis (not duplicates, not skipped). */
  framesWithin5s: number;
  audioLatencyMs: Percentiles;
}

/** Reads the samples of `broadcastIds` captured in [from, to) and summarises them. */
export async function sampleFigures(db: Db, broadcastIds: string[], from: Date, to: Date): Promise<SampleFigures> {
  const rows = await sampleOutcomes(db, broadcastIds, from, to);
  const frames = { taken: 0, analysed: 0, duplicate: 0, queued: 0, failed: 0, skipped: 0 };
  const audio = { taken: 0, analysed: 0, silent: 0, queued: 0, failed: 0, skipped: 0 };
  const fl: number[] = [];
  const al: number[] = [];
  for (const r of rows) {
    const c = r.kind === 'frame' ? frames : audio;
    c.taken++;
    if (r.status in c) (c as Record<string, number>)[r.status]!++;
    const lat = r.analysedAt ? r.analysedAt.getTime() - r.capturedAt.getTime() : Number.POSITIVE_INFINITY;
    if (r.kind === 'frame' && (r.status === 'analysed' || r.status === 'queued' || r.status === 'failed')) fl.push(lat);
    if (r.kind === 'audio' && (r.status === 'analysed' || r.status === 'queued')) al.push(lat);
  }
  return {
    frames, audio,
    frameLatencyMs: percentiles(fl), framesWithin5s: fl.length ? Math.round((fl.filter((x) => x <= 5000).length / fl.length) * 1000) / 1000 : Number.NaN,
    audioLatencyMs: percentiles(al),
  };
}

/** One reading of the target's /metrics: the queues' backlog and the sampling state. */
export interface BacklogPoint {
  /** Seconds since the load started. */
  t: number;
  queues: Record<string, { waiting: number; oldestS: number }>;
  stretch: number | null;
  /** Live broadcasts of the ingest node by effective sampling interval (s). */
  intervals: Record<string, number>;
}

/** Reads the backlog, stretch and interval distribution from a Warden's /metrics (null when it cannot be read). */
export async function readBacklog(api: string, t: number): Promise<BacklogPoint | null> {
  try {
    const res = await fetch(`${api}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    const text = await res.text();
    const queues: BacklogPoint['queues'] = {};
    for (const m of text.matchAll(/^warden_queue_waiting\{queue="([^"]+)"\} ([\d.e+-]+)$/gm)) (queues[m[1]!] ??= { waiting: 0, oldestS: 0 }).waiting = Number(m[2]);
    for (const m of text.matchAll(/^warden_queue_oldest_waiting_seconds\{queue="([^"]+)"\} ([\d.e+-]+)$/gm)) (queues[m[1]!] ??= { waiting: 0, oldestS: 0 }).oldestS = Math.round(Number(m[2]) * 10) / 10;
    const stretch = /^warden_sampling_stretch ([\d.e+-]+)$/m.exec(text);
    const intervals: Record<string, number> = {};
    for (const m of text.matchAll(/^warden_sampling_streams\{interval_s="([^"]+)"\} ([\d.e+-]+)$/gm)) intervals[m[1]!] = Number(m[2]);
    return { t: Math.round(t), queues, stretch: stretch ? Math.round(Number(stretch[1]) * 100) / 100 : null, intervals };
  } catch {
    return null;
  }
}

/** The chat viewers' process (bench/loadgen-chat.ts), driven over IPC. */
export class ChatLoad {
  private readonly child: ChildProcess;
  private constructor() {
    this.child = fork(fileURLToPath(new URL('./loadgen-chat.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  private ask(cmd: ChatCommand): Promise<ChatReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the chat viewers' process exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: ChatReply) => {
        this.child.off('exit', onExit);
        if (m.type === 'error') reject(new Error(m.message)); else resolve(m);
      });
      this.child.send(cmd);
    });
  }

  /** Connects the viewers (one token each, spread across `rooms`) and starts posting at `ratePerS`. */
  static async start(o: { api: string; rooms: string[]; tokens: string[]; ratePerS: number }): Promise<{ chat: ChatLoad; viewers: number; failed: string[] }> {
    const chat = new ChatLoad();
    const r = await chat.ask({ type: 'start', api: o.api, rooms: o.rooms, tokens: o.tokens, ratePerS: o.ratePerS, seed: 42 });
    if (r.type !== 'connected') throw new Error('unexpected reply from the chat viewers');
    return { chat, viewers: r.viewers, failed: r.failed };
  }

  /** The figures since the previous window. */
  async window(): Promise<ChatWindow> {
    const r = await this.ask({ type: 'window' });
    if (r.type !== 'window') throw new Error('unexpected reply from the chat viewers');
    return r.window;
  }

  /** Stops posting, waits a second for the last answers, returns the last window and ends the process. */
  async stop(): Promise<ChatWindow | null> {
    if (this.child.exitCode !== null) return null;
    const exited = new Promise((r) => this.child.once('exit', r));
    const last = await this.ask({ type: 'stop' }).catch(() => null);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    return last?.type === 'window' ? last.window : null;
  }

  /** The child's pid (its CPU is the clients', not the server's). */
  get pid(): number | undefined {
    return this.child.pid;
  }
}

/** Chat figures of one or more windows together. */
export interface ChatFigures {
  sent: number;
  verdicts: ChatWindow['verdicts'];
  refused: Record<string, number>;
  deliveries: number;
  /** Send → verdict round trip at the client (ack, held, blocked), ms. */
  verdictRttMs: Percentiles;
  unanswered: number;
  ratePerS: number;
}

/** Sums chat windows. */
export function chatFigures(windows: ChatWindow[]): ChatFigures {
  const refused: Record<string, number> = {};
  for (const w of windows) for (const [k, n] of Object.entries(w.refused)) refused[k] = (refused[k] ?? 0) + n;
  const seconds = windows.reduce((a, w) => a + w.seconds, 0);
  const sent = windows.reduce((a, w) => a + w.sent, 0);
  return {
    sent,
    verdicts: windows.reduce((a, w) => ({ allow: a.allow + w.verdicts.allow, flag: a.flag + w.verdicts.flag, held: a.held + w.verdicts.held, blocked: a.blocked + w.verdicts.blocked }), { allow: 0, flag: 0, held: 0, blocked: 0 }),
    refused,
    deliveries: windows.reduce((a, w) => a + w.deliveries, 0),
    verdictRttMs: percentiles(windows.flatMap((w) => w.verdictRttMs)),
    unanswered: windows.at(-1)?.unanswered ?? 0,
    ratePerS: seconds > 0 ? Math.round((sent / seconds) * 10) / 10 : 0,
  };
}

/**
 * A broadcast the load started: its publisher, its performer when seeded here (id and handle), whether it sends the
 * clip made to be flagged, and its id once the target accepted it (loopback: from the database).
 */
export interface LoadStream {
  index: number; key: string; userId: string | null; handle: string | null; flagged: boolean;
  publisher: RtmpPublisher; broadcastId: string | null; refused: string | null;
}

/**
 * A load on one target: publishers added in steps ({@link LoadGenerator.addStreams}), chat started once, figures read
 * back. Build with {@link LoadGenerator.prepare}; always {@link LoadGenerator.stop}.
 */
export class LoadGenerator {
  readonly streams: LoadStream[] = [];
  private chat: ChatLoad | null = null;
  private stopped = false;
  private constructor(
    readonly target: LoadTarget,
    private readonly clips: { plain: string; flagged: string | null; flagEvery: number },
    private readonly seeds: { keys: { key: string; userId: string | null; handle: string | null }[]; tokens: string[] },
    private readonly db: Db | null,
    private readonly ownDb: Database | null,
  ) {}

  /**
   * Resolves the target (or refuses), encodes the clip (cached in `mediaDir`), and on loopback seeds `maxStreams`
   * verified performers with stream keys and `viewers` adult viewer sessions (accounts `loadgen-<run>-…`) in the
   * configuration's database (or `db` when given, e.g. the bench's throw-away one). With `flagEvery` k, every k-th
   * stream (the first included) sends a second clip that opens on face-api's sample5.jpg, a photo nsfwjs scores above
   * the default policy's `sexual_explicit` flag, so a case opens on it (time to flag under load).
   * @throws LoadgenRefusal for a target it will not load; Error when the clip cannot be built or the database reached.
   */
  static async prepare(o: LoadgenOptions & { config: Config; db?: Db; mediaDir?: string; maxStreams?: number; flagEvery?: number; log?: (l: string) => void }): Promise<LoadGenerator> {
    const log = o.log ?? (() => {});
    const target = resolveTarget(o, o.config);
    const maxStreams = Math.max(o.streams, o.maxStreams ?? 0);
    // the clip: 16 s of real 720p30 H.264 (keyframe every 2 s) and AAC speech, encoded once and cached
    const dir = o.mediaDir ?? path.join(o.config.dataDir, 'test-media');
    const plain = await buildDemoVideo({ dir, seconds: 16, keyframeIntervalS: 2 });
    const photos = samplePhotos();
    const flagged = o.flagEvery ? await buildDemoVideo({ dir, seconds: 16, keyframeIntervalS: 2, photos: [photos[4]!, photos[0]!, photos[1]!] }) : null;
    const clips = { plain, flagged, flagEvery: o.flagEvery ?? 0 };
    if (!target.loopback) return new LoadGenerator(target, clips, { keys: o.keys!.slice(0, maxStreams).map((key) => ({ key, userId: null, handle: null })), tokens: (o.tokens ?? []).slice(0, o.viewers) }, null, null);
    let ownDb: Database | null = null;
    let db = o.db ?? null;
    if (!db) {
      ownDb = await connectDatabase(o.config.databaseUrl, { max: o.config.database.poolMax, prepare: o.config.database.prepare });
      db = ownDb.db;
    }
    try {
      const run = randomBytes(3).toString('hex');
      const keys: { key: string; userId: string | null; handle: string | null }[] = [];
      if (o.keys) keys.push(...o.keys.slice(0, maxStreams).map((key) => ({ key, userId: null, handle: null })));
      else {
        for (let i = 0; i < maxStreams; i += 20) {
          keys.push(...await Promise.all(Array.from({ length: Math.min(20, maxStreams - i) }, async (_, j) => {
            const handle = `loadgen-${run}-p${i + j}`;
            const p = await seedPerformer(db!, handle, { verified: true });
            return { key: p.streamKey, userId: p.userId, handle };
          })));
        }
      }
      const tokens: string[] = o.tokens ? o.tokens.slice(0, o.viewers) : [];
      const ttlMs = ((o.seconds ?? 30) + 3600) * 1000;
      for (let i = tokens.length; i < o.viewers; i += 50) {
        tokens.push(...(await Promise.all(Array.from({ length: Math.min(50, o.viewers - i) }, (_, j) => seedSession(db!, `loadgen-${run}-v${i + j}`, 'viewer', { ttlMs })))).map((s) => s.token));
      }
      log(`loadgen  seeded ${o.keys ? 0 : maxStreams} verified performers and ${o.tokens ? 0 : o.viewers} viewer sessions (accounts loadgen-${run}-…)`);
      return new LoadGenerator(target, clips, { keys, tokens }, db, ownDb);
    } catch (err) {
      await ownDb?.close();
      throw err;
    }
  }

  /**
   * Starts publishers until `total` run (a few at a time), then waits up to `waitMs` for each to be accepted: on
   * loopback its broadcast is live in the database; elsewhere its ffmpeg is still sending after the wait. A publisher
   * that exits first was refused (ffmpeg's last error line says why).
   */
  async addStreams(total: number, waitMs = 20_000): Promise<{ accepted: number; refused: number }> {
    const started: LoadStream[] = [];
    while (this.streams.length < Math.min(total, this.seeds.keys.length)) {
      const index = this.streams.length;
      const { key, userId, handle } = this.seeds.keys[index]!;
      const flagged = this.clips.flagged !== null && index % this.clips.flagEvery === 0;
      const publisher = publishRtmp(flagged ? this.clips.flagged! : this.clips.plain, `${this.target.rtmp}/${key}`, { loop: true, nice: 19 });
      const s: LoadStream = { index, key, userId, handle, flagged, publisher, broadcastId: null, refused: null };
      void publisher.exited.then((e) => { if (!s.broadcastId && !s.refused) s.refused = e.stderr.split('\n').filter(Boolean).at(-1) ?? `ffmpeg exited with ${e.code}`; });
      this.streams.push(s);
      started.push(s);
      if (started.length % 10 === 0) await new Promise((r) => setTimeout(r, 200)); // no thundering herd at the gate
    }
    const deadline = Date.now() + waitMs;
    const settled = (s: LoadStream) => s.broadcastId !== null || s.refused !== null;
    while (Date.now() < deadline && !started.every(settled)) {
      await new Promise((r) => setTimeout(r, 500));
      if (this.db) {
        for (const s of started) {
          if (settled(s) || !s.userId) continue;
          const b = await performerLiveBroadcast(this.db, s.userId);
          if (b) s.broadcastId = b.id;
        }
      }
    }
    if (!this.db) for (const s of started) if (!s.refused && s.publisher.child.exitCode === null) s.broadcastId = `remote-${s.index}`;
    for (const s of started) if (!settled(s)) s.refused = 'not live within the wait';
    return { accepted: started.filter((s) => s.broadcastId).length, refused: started.filter((s) => s.refused).length };
  }

  /** Stops the publishers started last until `total` remain (their broadcasts end). */
  async removeStreams(total: number): Promise<void> {
    const gone = this.streams.splice(Math.max(0, total));
    await Promise.all(gone.map((s) => s.publisher.stop()));
  }

  /** Ids of the broadcasts accepted so far (loopback: real ids). */
  get broadcastIds(): string[] {
    return this.streams.filter((s) => s.broadcastId && !s.broadcastId.startsWith('remote-')).map((s) => s.broadcastId!);
  }

  /**
   * Connects the viewers, spread across the rooms of the accepted broadcasts (or `only` those), on loopback, or of the
   * target's live list (GET /api/live with the first token), and starts posting at `ratePerS`.
   * @throws Error when there is no room to join.
   */
  async startChat(ratePerS: number, only?: string[]): Promise<{ viewers: number; failed: string[] }> {
    if (this.seeds.tokens.length === 0) return { viewers: 0, failed: [] };
    let rooms = only ?? this.broadcastIds;
    if (!this.target.loopback) {
      const res = await fetch(`${this.target.api}/api/live`, { headers: { authorization: `Bearer ${this.seeds.tokens[0]}` } });
      if (!res.ok) throw new Error(`GET /api/live: ${res.status}`);
      rooms = ((await res.json()) as { id: string }[]).map((b) => b.id);
    }
    if (rooms.length === 0) throw new Error('no live broadcast to chat in');
    const r = await ChatLoad.start({ api: this.target.api, rooms, tokens: this.seeds.tokens, ratePerS });
    this.chat = r.chat;
    return { viewers: r.viewers, failed: r.failed };
  }

  /** Chat figures since the previous window (null without chat). */
  chatWindow(): Promise<ChatWindow> | null {
    return this.chat ? this.chat.window() : null;
  }

  /** The chat viewers' process id (for CPU accounting), if running. */
  get chatPid(): number | undefined {
    return this.chat?.pid;
  }

  /** Samples of the accepted broadcasts captured in [from, to) (loopback only; null elsewhere). */
  async samples(from: Date, to: Date): Promise<SampleFigures | null> {
    return this.db ? sampleFigures(this.db, this.broadcastIds, from, to) : null;
  }

  /** Stops the chat viewers (their last window; null without chat). */
  async stopChat(): Promise<ChatWindow | null> {
    const last = await this.chat?.stop().catch(() => null) ?? null;
    this.chat = null;
    return last;
  }

  /** Stops chat (returning its last window) and every publisher; closes the database it opened. Idempotent. */
  async stop(): Promise<ChatWindow | null> {
    if (this.stopped) return null;
    this.stopped = true;
    const last = await this.chat?.stop().catch(() => null) ?? null;
    this.chat = null;
    await Promise.all(this.streams.map((s) => s.publisher.stop()));
    await this.ownDb?.close();
    return last;
  }
}

/** Everything `warden loadgen` reports (its JSON line). */
export interface LoadgenReport {
  target: { rtmp: string; api: string; loopback: boolean };
  streams: number; viewers: number; chatRate: number; seconds: number;
  publishes: { accepted: number; refused: number; refusals: string[] };
  chat: (ChatFigures & { viewersConnected: number }) | null;
  /** Loopback only: what became of the samples captured during the run (after a short grace for analysis). */
  samples: SampleFigures | null;
  backlog: BacklogPoint[];
  /** CPU of this machine over the run, in cores: busy in all, and by group (publishers, taps, workers… when local). */
  cpu: CpuWindow;
}

/**
 * Runs the load for `seconds`, printing progress and a summary through `print`, and returns the report.
 * @throws LoadgenRefusal for a refused target; Error when nothing could be published.
 */
export async function runLoadgen(o: LoadgenOptions & { config: Config; mediaDir?: string; print?: (l: string) => void }): Promise<LoadgenReport> {
  const print = o.print ?? ((l: string) => console.log(l));
  const seconds = o.seconds ?? 30;
  const gen = await LoadGenerator.prepare({ ...o, log: print });
  const cpu = new CpuSampler(wardenClassifier({ loadgen: process.pid })).start();
  const backlog: BacklogPoint[] = [];
  let chatWindows: ChatWindow[] = [];
  let viewersConnected = 0;
  try {
    print(`loadgen  target ${gen.target.rtmp} and ${gen.target.api}${gen.target.loopback ? ' (loopback)' : ''}: ${o.streams} streams, ${o.viewers} viewers, ${o.chatRate} chat messages/s, ${seconds} s`);
    const pub = await gen.addStreams(o.streams);
    print(`loadgen  publishes: ${pub.accepted} accepted, ${pub.refused} refused`);
    if (pub.accepted === 0) throw new Error(`no publish was accepted: ${gen.streams.map((s) => s.refused).filter(Boolean).slice(0, 3).join('; ')}`);
    const startedAt = Date.now();
    if (o.viewers > 0) {
      const c = await gen.startChat(o.chatRate);
      viewersConnected = c.viewers;
      print(`loadgen  chat: ${c.viewers} viewers connected${c.failed.length ? `, ${c.failed.length} refused (${c.failed.slice(0, 3).join(', ')})` : ''}`);
    }
    cpu.window(); // the run's CPU starts now
    while (Date.now() - startedAt < seconds * 1000) {
      const p = await readBacklog(gen.target.api, (Date.now() - startedAt) / 1000);
      if (p) {
        backlog.push(p);
        const q = (n: string) => (p.queues[n] ? `${p.queues[n]!.waiting} waiting (oldest ${p.queues[n]!.oldestS} s)` : '?');
        print(`loadgen  t=${p.t}s frames ${q('frames')}, audio ${q('audio')}, sampling stretch ${p.stretch ?? '?'}`);
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, startedAt + seconds * 1000 - Date.now()))));
    }
    const endedAt = new Date();
    const usage = cpu.window();
    const last = await gen.stopChat();
    chatWindows = [...(last ? [last] : [])];
    // what was captured during the run gets a few seconds more to be analysed (the streams go on meanwhile)
    await new Promise((r) => setTimeout(r, gen.target.loopback ? 5000 : 0));
    const samples = await gen.samples(new Date(startedAt), endedAt);
    const report: LoadgenReport = {
      target: gen.target, streams: o.streams, viewers: o.viewers, chatRate: o.chatRate, seconds,
      publishes: { accepted: pub.accepted, refused: pub.refused, refusals: [...new Set(gen.streams.map((s) => s.refused).filter((x): x is string => !!x))].slice(0, 5) },
      chat: o.viewers > 0 ? { ...chatFigures(chatWindows), viewersConnected } : null,
      samples, backlog, cpu: usage,
    };
    printReport(report, print);
    return report;
  } finally {
    cpu.stop();
    await gen.stop().catch(() => null);
  }
}

/** A latency for a line: `123 ms`, or `–` when there is none (nothing measured, or not analysed yet). */
function ms(x: number): string {
  return Number.isFinite(x) ? `${x} ms` : '–';
}

function printReport(r: LoadgenReport, print: (l: string) => void): void {
  print(`loadgen  == ${r.streams} streams, ${r.viewers} viewers, ${r.chatRate} msg/s for ${r.seconds} s ==`);
  print(`loadgen  publishes accepted ${r.publishes.accepted}, refused ${r.publishes.refused}${r.publishes.refusals.length ? ` (${r.publishes.refusals.join('; ')})` : ''}`);
  if (r.chat) {
    const c = r.chat;
    const refused = Object.entries(c.refused).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    print(`loadgen  chat sent ${c.sent} (${c.ratePerS}/s): allowed ${c.verdicts.allow}, flagged ${c.verdicts.flag}, held ${c.verdicts.held}, blocked ${c.verdicts.blocked}; refused ${refused}; delivered to viewers ${c.deliveries} times; unanswered ${c.unanswered}`);
    print(`loadgen  chat verdict round trip (send → verdict at the client): p50 ${ms(c.verdictRttMs.p50)}, p99 ${ms(c.verdictRttMs.p99)} (n=${c.verdictRttMs.n})`);
  }
  if (r.samples) {
    const s = r.samples;
    print(`loadgen  frames taken ${s.frames.taken}: analysed ${s.frames.analysed}, duplicates ${s.frames.duplicate}, still queued ${s.frames.queued}, skipped ${s.frames.skipped}, failed ${s.frames.failed}; capture → analysed p50 ${ms(s.frameLatencyMs.p50)}, p95 ${ms(s.frameLatencyMs.p95)} (a frame not analysed counts as later than any); ${(s.framesWithin5s * 100).toFixed(1)}% within 5 s`);
    print(`loadgen  audio chunks ${s.audio.taken}: transcribed ${s.audio.analysed}, silent ${s.audio.silent}, still queued ${s.audio.queued}, skipped ${s.audio.skipped}; capture → transcribed p50 ${ms(s.audioLatencyMs.p50)}, p95 ${ms(s.audioLatencyMs.p95)}`);
  } else print('loadgen  samples: not read (the target is not loopback: its database is not this one)');
  const peak = r.backlog.reduce((m, p) => Math.max(m, p.queues.frames?.waiting ?? 0), 0);
  const peakAudio = r.backlog.reduce((m, p) => Math.max(m, p.queues.audio?.waiting ?? 0), 0);
  print(`loadgen  backlog: ${r.backlog.length} readings, frames waiting at most ${peak}, audio at most ${peakAudio}; stretch at the end ${r.backlog.at(-1)?.stretch ?? '?'}`);
  const groups = Object.entries(r.cpu.groups).sort((a, b) => b[1] - a[1]).map(([g, c]) => `${g} ${c.toFixed(2)}`).join(', ');
  print(`loadgen  CPU (cores of ${r.cpu.cores}): machine ${r.cpu.machineBusy.toFixed(2)} busy; by process: ${groups}`);
}
