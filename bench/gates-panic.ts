/**
 * Panic-alert delivery under load: one `warden serve`-equivalent (api + ingest + analyzer workers, the production
 * default of one frame-worker process per core) on a throw-away database and Redis prefix, 20 verified performers
 * publishing the real demo clip over RTMP (looped, stream copy) and being tapped and analysed, two moderators
 * holding `GET /api/alerts/stream` open over HTTP, and performers pressing the panic button
 * (`POST /api/alerts/panic`) every ~200 ms; the moderators and performers run in a process of their own
 * (bench/gates-panic-clients.ts), so the server's event loop does not also delay the measuring clients. Measures press → `raised` event on each moderator's stream, split at the
 * server's Redis publish, first with nothing published (the baseline) and then under the 20 streams.
 * Run alone with `npx tsx bench/gates-panic.ts`.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../core/config.ts';
import { sampleTimeline, type Db } from '../db/index.ts';
import type { PublishEvent } from '../ingest/index.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { publishRtmp, type RtmpPublisher } from '../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from '../tests/harness.ts';
import { demoClip, formatLatency, isMain, latency, type Latency } from './gates-common.ts';
import { PanicClients } from './panic-clients.ts';

/** Samples of the live broadcasts by state (frames and audio chunks; a duplicate frame counts as its original). */
export interface SampleCounts { frames: { analysed: number; queued: number; failed: number }; audio: { analysed: number; queued: number; failed: number; silent: number } }

/** Result of {@link benchPanic}. Latencies in milliseconds. */
export interface PanicBench {
  /** Press (request sent) → `raised` event read by a moderator's SSE client, over both clients. */
  deliveryMs: Latency;
  /** The delivery split at the server's Redis publish (wall clock, 1 ms resolution). */
  stages: { toPublishMs: Latency; fanOutMs: Latency };
  /** Press → the 202 response read by the performer (the alert is in Redis and stored by then). */
  responseMs: Latency;
  /** The same measurements with Warden running and nothing published: the baseline the load is compared with. */
  idle: { deliveryMs: Latency; stages: { toPublishMs: Latency; fanOutMs: Latency }; responseMs: Latency; missed: number };
  alerts: number;
  moderators: number;
  /** Raised alerts a moderator stream had not received 3 s after the last press (should be 0). */
  missed: number;
  streams: number;
  /** Frame-worker processes and the frame backend they reported. */
  workerProcesses: number;
  frameBackend: string | null;
  /** Samples analysed (frames, audio chunks) between the first and last press, and the samples overall at the end. */
  analysedDuringAlerts: { frames: number; audio: number };
  samplesAtEnd: SampleCounts;
  /** The serving process (api + ingest) while the presses ran: share of one core, and its event-loop delay in ms. */
  serverLoad: { coreShare: number; loopDelayMs: { p50: number; p99: number; max: number } };
  seconds: number;
  targetP99Ms: number;
}

/** Options of {@link benchPanic}. */
export interface PanicBenchOptions {
  /** Live broadcasts published over RTMP (default 20). */
  streams?: number;
  /** Panic presses (default 50). */
  alerts?: number;
  /** Milliseconds between presses (default 200). */
  spacingMs?: number;
  /** Presses of the idle baseline, before anything is published (default 25). */
  idleAlerts?: number;
  /** Performers who press, in turn (default 5; each is one of the publishing performers). */
  pressing?: number;
  /** Seconds of load before the first press, so the tap and analyzer are running (default 8). */
  warmupS?: number;
  print?: (line: string) => void;
}

const TARGET_P99_MS = 200;

/** Counts the samples of `broadcastIds` by state, through db/'s timeline query. */
async function countSamples(db: Db, broadcastIds: string[]): Promise<SampleCounts> {
  const c: SampleCounts = { frames: { analysed: 0, queued: 0, failed: 0 }, audio: { analysed: 0, queued: 0, failed: 0, silent: 0 } };
  for (const id of broadcastIds) {
    for (const row of await sampleTimeline(db, id, 'frame', 0, 2 ** 31 - 1)) if (row.status in c.frames) c.frames[row.status as keyof SampleCounts['frames']]++;
    for (const row of await sampleTimeline(db, id, 'audio', 0, 2 ** 31 - 1)) if (row.status in c.audio) c.audio[row.status as keyof SampleCounts['audio']]++;
  }
  return c;
}

/** What one round of presses measured. */
interface RoundResult {
  deliveryMs: Latency;
  stages: { toPublishMs: Latency; fanOutMs: Latency };
  responseMs: Latency;
  missed: number;
  windowS: number;
  serverLoad: { coreShare: number; loopDelayMs: { p50: number; p99: number; max: number } };
}

/** The moderators' and performers' process, with the server's own CPU and event-loop delay measured during a round. */
class Clients {
  private constructor(private readonly clients: PanicClients) {}

  /** Starts the process and opens one alert stream per moderator token. */
  static async open(httpUrl: string, moderatorTokens: string[]): Promise<Clients> {
    return new Clients(await PanicClients.open(httpUrl, moderatorTokens));
  }

  /** One round of presses; meanwhile this process (the server) measures its own CPU and event-loop delay. */
  async round(r: { pressing: { token: string }[]; count: number; spacingMs: number; tag: string }): Promise<RoundResult> {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const s = await this.clients.round(r.pressing.map((p) => p.token), r.count, r.spacingMs, r.tag);
    loop.disable();
    const cpu = process.cpuUsage(cpu0);
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    return {
      deliveryMs: latency(s.delivery),
      // where the time goes (wall clock, 1 ms resolution): press → the server publishes the alert (HTTP, session check,
      // the performer's live broadcast looked up), and publish → a moderator's client has it (Redis pub/sub, SSE)
      stages: { toPublishMs: latency(s.toPublish), fanOutMs: latency(s.fanOut) },
      responseMs: latency(s.response),
      missed: s.missed,
      windowS: s.windowMs / 1000,
      serverLoad: {
        coreShare: Math.round(((cpu.user + cpu.system) / 1000 / s.windowMs) * 100) / 100,
        loopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
      },
    };
  }

  close(): Promise<void> {
    return this.clients.close();
  }
}

/**
 * Measures panic-alert delivery from the performer's press to each moderator's SSE event while `streams` real RTMP
 * broadcasts are tapped and analysed (about 30 s of wall time). Everything started is stopped and the database,
 * Redis keys and data directory are removed, also on failure.
 * @throws Error when Warden does not start, the broadcasts do not go live, or a press is refused.
 */
export async function benchPanic(opts: PanicBenchOptions = {}): Promise<PanicBench> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const streams = opts.streams ?? 20;
  const alertsN = opts.alerts ?? 50;
  const spacingMs = opts.spacingMs ?? 200;
  const pressingN = Math.min(streams, opts.pressing ?? 5);
  const started = performance.now();
  // the analyzer as `warden serve` runs it by default (worker processes per core, audio concurrency), not the tests' in-process worker
  // the bench's own alerts must not escalate (re-notify) in the middle of the measurement: acknowledgement window 10 min
  const base = loadConfig({});
  const defaults = base.analyzer;
  let env: TestEnv | undefined;
  let warden: WardenHandle | undefined;
  const publishers: RtmpPublisher[] = [];
  let clients: Clients | undefined;
  try {
    const [e, clip] = await Promise.all([createTestEnv({ analyzer: { ...defaults }, alerts: { ...base.alerts, ackMs: 600_000 } }), demoClip(16)]);
    env = e;
    warden = await startWarden(env.ctx, { api: true, ingest: true, workers: true });
    const { db } = env.ctx;
    const httpUrl = warden.httpUrl!;
    const accepted = new Map<string, string>(); // userId → broadcastId
    const refused: string[] = [];
    warden.ingest!.events.on('publish', (ev: PublishEvent) => {
      if (ev.type === 'accepted') accepted.set(ev.userId, ev.broadcastId);
      else if (ev.type === 'refused') refused.push(ev.reason);
    });

    const tag = randomBytes(3).toString('hex');
    const performers = [];
    for (let i = 0; i < streams; i++) performers.push(await seedPerformer(db, `bench-live-${tag}-${i}`, { verified: true }));
    const pressing = await Promise.all(performers.slice(0, pressingN).map((_, i) => seedSession(db, `bench-live-${tag}-${i}`, 'performer')));
    const mods = await Promise.all([0, 1].map((i) => seedSession(db, `bench-moderator-${tag}-${i}`, 'moderator')));

    // the moderators and the performers are in a process of their own, as their browsers and phones would be
    clients = await Clients.open(httpUrl, mods.map((m) => m.token));
    // baseline: the same presses with Warden running and nothing published (workers idle)
    const idle = await clients.round({ pressing, count: opts.idleAlerts ?? 25, spacingMs, tag: 'idle' });
    print(`panic   press → moderator SSE, idle: ${formatLatency(idle.deliveryMs)} (press → published ${formatLatency(idle.stages.toPublishMs)})`);

    // the publishers stand in for encoders on other machines: at the lowest priority, they take only spare CPU here
    for (const p of performers) publishers.push(publishRtmp(clip, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${p.streamKey}`, { loop: true, nice: 19 }));
    await waitFor(() => accepted.size >= streams || refused.length > 0, `${streams} publishes accepted`, 60_000, 50);
    if (refused.length) throw new Error(`publish refused: ${refused.join(', ')}`);
    const broadcastIds = [...accepted.values()];
    print(`panic   ${streams} broadcasts live (RTMP, ${defaults.workerProcesses} frame-worker processes, backend ${warden.frameBackend ?? '?'}); warming up ${opts.warmupS ?? 8} s`);
    await new Promise((r) => setTimeout(r, (opts.warmupS ?? 8) * 1000));

    const before = await countSamples(db, broadcastIds);
    const loaded = await clients.round({ pressing, count: alertsN, spacingMs, tag: 'loaded' });
    const after = await countSamples(db, broadcastIds);
    const analysedDuringAlerts = { frames: after.frames.analysed - before.frames.analysed, audio: after.audio.analysed - before.audio.analysed };
    const met = loaded.deliveryMs.p99 < TARGET_P99_MS && loaded.missed === 0;
    print(`panic   press → moderator SSE, ${streams} streams live: ${formatLatency(loaded.deliveryMs)}  [target p99 < ${TARGET_P99_MS} ms: ${met ? 'met' : 'MISSED'}]${loaded.missed ? `, ${loaded.missed} not delivered` : ''}`);
    print(`panic     of which press → published to Redis ${formatLatency(loaded.stages.toPublishMs)}; published → SSE client ${formatLatency(loaded.stages.fanOutMs)}`);
    print(`panic     press → 202 response ${formatLatency(loaded.responseMs)}`);
    print(`panic     serving process (api + ingest + taps' readers) ${(loaded.serverLoad.coreShare * 100).toFixed(0)}% of a core, event-loop delay p50 ${loaded.serverLoad.loopDelayMs.p50} ms, p99 ${loaded.serverLoad.loopDelayMs.p99} ms, max ${loaded.serverLoad.loopDelayMs.max} ms`);
    print(`panic     analyzer during the ${loaded.windowS.toFixed(1)} s of presses: ${analysedDuringAlerts.frames} frames and ${analysedDuringAlerts.audio} audio chunks analysed; at the end ${after.frames.analysed} frames analysed, ${after.frames.queued} queued; ${after.audio.analysed} audio chunks transcribed, ${after.audio.queued} queued`);
    return {
      deliveryMs: loaded.deliveryMs, stages: loaded.stages, responseMs: loaded.responseMs, alerts: alertsN, moderators: mods.length, missed: loaded.missed,
      idle: { deliveryMs: idle.deliveryMs, stages: idle.stages, responseMs: idle.responseMs, missed: idle.missed },
      streams, workerProcesses: defaults.workerProcesses, frameBackend: warden.frameBackend ?? null,
      analysedDuringAlerts, samplesAtEnd: after, serverLoad: loaded.serverLoad, seconds: Math.round((performance.now() - started) / 1000), targetP99Ms: TARGET_P99_MS,
    };
  } finally {
    await clients?.close().catch(() => {});
    await Promise.all(publishers.map((p) => p.stop()));
    await warden?.stop().catch(() => {});
    await env?.cleanup().catch((err) => console.error(`panic bench cleanup: ${String(err)}`));
  }
}

if (isMain(import.meta.url)) {
  benchPanic().then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
