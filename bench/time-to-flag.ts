/**
 * Time to flag: from a sampled frame's capture to the review case it opens, over real RTMP publishes. One
 * `warden serve`-equivalent (api + ingest + analyzer with the production defaults: frame-worker processes per core,
 * the default policy) on a throw-away database and Redis prefix; `streams` verified performers publish, a second
 * apart, a short 720p30 clip whose first picture is face-api's sample5.jpg (as the tap samples it, nsfwjs scores it
 * Porn ≈ 0.7–0.8, above the default policy's `sexual_explicit` flag at 0.6); each broadcast's first case is read
 * back with db/'s broadcast report: `cases.created_at − min(samples.captured_at)` over the evidence that opened it.
 * The first sample of a broadcast also gets the face check (every FACE_EVERY_N-th sample), which is most of its
 * analysis time on this machine.
 *
 * "Capture" is when the tap emitted the frame (the sample's `captured_at`): ffmpeg's keyframe release delay before
 * it (about two GOPs with x264's B-pyramid, see the README's troubleshooting) is not included.
 * Run alone with `npx tsx bench/time-to-flag.ts [streams]`.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../core/config.ts';
import { broadcastReport } from '../db/index.ts';
import type { PublishEvent } from '../ingest/index.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer } from '../bin/seed.ts';
import { buildDemoVideo, publishRtmp, samplePhotos, type RtmpPublisher } from '../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from '../tests/harness.ts';
import { formatLatency, isMain, latency, root, type Latency } from './gates-common.ts';

/** Result of {@link benchTimeToFlag}. Milliseconds. */
export interface TimeToFlagBench {
  /** Capture of the first flagged sample → its case, one value per broadcast. */
  captureToCaseMs: Latency;
  /** Nearest-rank p95 of the same values. */
  p95Ms: number;
  /** Publish accepted → the case opened (includes the tap's start and the keyframe release delay). */
  publishToCaseMs: Latency;
  streams: number;
  /** Broadcasts without a case within the time limit (should be 0). */
  unflagged: number;
  /** The reasons (rule ids) of the cases that opened, with counts. */
  reasons: Record<string, number>;
  workerProcesses: number;
  frameBackend: string | null;
  seconds: number;
  /** The bound it is compared with: every sample analysed within 5 s of capture (issue 9), so a case by then. */
  targetP95Ms: number;
}

/** Options of {@link benchTimeToFlag}. */
export interface TimeToFlagOptions {
  /** Broadcasts, one performer each (default 10). */
  streams?: number;
  /** Milliseconds between two publishes' starts (default 1000: broadcasts start one by one, not in a burst). */
  staggerMs?: number;
  /** Seconds to wait for every broadcast's case (default 60). */
  timeoutS?: number;
  print?: (line: string) => void;
}

const TARGET_P95_MS = 5000;

/** Nearest-rank percentile of `ms` (0 < p ≤ 1), to 0.1 ms; NaN when empty. */
function percentile(ms: number[], p: number): number {
  const s = [...ms].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! * 10) / 10 : Number.NaN;
}

/**
 * Publishes `streams` flagged clips over RTMP and measures each one's capture → case time (about 20 s plus
 * Warden's start). Everything started is stopped and the database, Redis keys and data directory are removed,
 * also on failure.
 * @throws Error when Warden does not start, a publish is refused, or no broadcast gets a case at all.
 */
export async function benchTimeToFlag(opts: TimeToFlagOptions = {}): Promise<TimeToFlagBench> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const streams = opts.streams ?? 10;
  const started = performance.now();
  const defaults = loadConfig({}).analyzer;
  let env: TestEnv | undefined;
  let warden: WardenHandle | undefined;
  const publishers: RtmpPublisher[] = [];
  try {
    // sample5 first (4 s), the test card (2 s), sample5 again: the first keyframe already qualifies
    const [e, clip] = await Promise.all([
      createTestEnv({ analyzer: { ...defaults } }),
      buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 10, photos: [samplePhotos()[4]!] }),
    ]);
    env = e;
    warden = await startWarden(env.ctx, { api: true, ingest: true, workers: true });
    const { db } = env.ctx;
    const acceptedAt = new Map<string, number>(); // broadcastId → performance.now()
    const refused: string[] = [];
    warden.ingest!.events.on('publish', (ev: PublishEvent) => {
      if (ev.type === 'accepted') acceptedAt.set(ev.broadcastId, performance.now());
      else if (ev.type === 'refused') refused.push(ev.reason);
    });
    const tag = randomBytes(3).toString('hex');
    const performers = [];
    for (let i = 0; i < streams; i++) performers.push(await seedPerformer(db, `bench-flag-${tag}-${i}`, { verified: true }));
    print(`flag    ${streams} broadcasts of a clip the default policy flags (frame backend ${warden.frameBackend ?? '?'}, ${defaults.workerProcesses} frame-worker processes)`);
    for (const p of performers) {
      publishers.push(publishRtmp(clip, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${p.streamKey}`, { loop: true, nice: 19 }));
      await new Promise((r) => setTimeout(r, opts.staggerMs ?? 1000));
    }
    await waitFor(() => acceptedAt.size >= streams || refused.length > 0, `${streams} publishes accepted`, 30_000, 50);
    if (refused.length) throw new Error(`publish refused: ${refused.join(', ')}`);

    const caseSeenAt = new Map<string, number>();
    const deadline = Date.now() + (opts.timeoutS ?? 60) * 1000;
    while (caseSeenAt.size < streams && Date.now() < deadline) {
      for (const id of acceptedAt.keys()) {
        if (caseSeenAt.has(id)) continue;
        const r = await broadcastReport(db, id);
        if (r.cases.length) caseSeenAt.set(id, performance.now());
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(publishers.map((p) => p.stop()));
    const captureToCase: number[] = [];
    const publishToCase: number[] = [];
    const reasons: Record<string, number> = {};
    for (const [id, at] of acceptedAt) {
      const first = (await broadcastReport(db, id)).cases[0];
      if (!first) continue;
      reasons[first.reason] = (reasons[first.reason] ?? 0) + 1;
      if (first.captureToCaseMs !== null) captureToCase.push(first.captureToCaseMs);
      const seen = caseSeenAt.get(id);
      if (seen !== undefined) publishToCase.push(seen - at);
    }
    if (!captureToCase.length) throw new Error(`no broadcast got a case within ${opts.timeoutS ?? 60} s`);
    const result: TimeToFlagBench = {
      captureToCaseMs: latency(captureToCase), p95Ms: percentile(captureToCase, 0.95), publishToCaseMs: latency(publishToCase),
      streams, unflagged: streams - captureToCase.length, reasons, workerProcesses: defaults.workerProcesses,
      frameBackend: warden.frameBackend ?? null, seconds: Math.round((performance.now() - started) / 1000), targetP95Ms: TARGET_P95_MS,
    };
    print(`flag    capture → case: p95 ${result.p95Ms} ms; ${formatLatency(result.captureToCaseMs)}  [target p95 < ${TARGET_P95_MS} ms: ${result.p95Ms < TARGET_P95_MS && result.unflagged === 0 ? 'met' : 'MISSED'}]${result.unflagged ? `, ${result.unflagged} broadcasts without a case` : ''}`);
    print(`flag    publish accepted → case seen (tap start and keyframe release included): ${formatLatency(result.publishToCaseMs)}; cases: ${Object.entries(reasons).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    return result;
  } finally {
    await Promise.all(publishers.map((p) => p.stop()));
    await warden?.stop().catch(() => {});
    await env?.cleanup().catch((err) => console.error(`time-to-flag bench cleanup: ${String(err)}`));
  }
}

if (isMain(import.meta.url)) {
  const streams = process.argv[2] ? Number(process.argv[2]) : undefined;
  benchTimeToFlag({ streams }).then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
