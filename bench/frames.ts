/**
 * Frame classifier throughput: single-image calls vs batches, with and without sharp preprocessing.
 * Run alone with `npx tsx bench/frames.ts [seconds]`; prints one line per measurement and a recommendation.
 *
 * Figures are per core: frames divided by the CPU time the process spent (user + system, all threads), so they
 * hold on a busy machine and mean "what one analyzer worker process can do". The wasm backend runs the model
 * on one thread; sharp decodes on libuv threads, which is why wall-clock fps (also reported) can exceed it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { createFrameClassifier, MODEL_INPUT_SIZE, type FrameBackendChoice, type FrameClassifier, type RawImage } from '../analyzer/frame-model.ts';

/** What was fed to the classifier. */
export type BenchSuite =
  /** the six face-api demo photos as JPEG bytes at full size (≈1920×1400): sharp decode + resize + model */
  | 'photo'
  /** the same photos re-encoded as 640×360 JPEG (q85), a typical sampled stream frame: decode + resize + model */
  | 'frame640'
  /** 224×224 pixels already decoded (`classifyPixels`): the model alone */
  | 'model';

/** One measurement. */
export interface BenchRow {
  suite: BenchSuite;
  /** Images per classify call. */
  batch: number;
  /** Frames per CPU-second (per core). */
  fps: number;
  /** CPU milliseconds per frame (= 1000 / fps). */
  cpuMsPerFrame: number;
  /** Frames per wall-clock second. */
  wallFps: number;
  /** Wall-clock milliseconds per classify call (the latency a batch adds). */
  msPerCall: number;
  /** Frames classified during the measurement. */
  frames: number;
}

/** Per-suite summary: per-core fps by batch size, and the batch size to use. */
export interface BenchSuiteSummary {
  singleFps: number;
  batchedFps: Record<number, number>;
  /** Smallest batch size within 5% of the best per-core fps (bigger batches only add latency). */
  bestBatch: number;
}

/** Result of {@link benchFrames}. Fps are per core (CPU-time based); see {@link BenchRow} for wall-clock. */
export interface BenchFramesResult {
  backend: string;
  model: string;
  /** Full-size photos, preprocessing included: fps of single-image calls. */
  singleFps: number;
  /** Full-size photos, preprocessing included: fps per batch size (1 included). */
  batchedFps: Record<number, number>;
  /** Full-size photos, single-image calls: CPU ms per frame. */
  msPerFrame: number;
  /** Full-size photos summary (same figures as above plus bestBatch). */
  photo: BenchSuiteSummary;
  /** 640×360 JPEG frames, preprocessing included. */
  frames640: BenchSuiteSummary;
  /** Model only (pre-decoded 224×224 pixels). */
  modelOnly: BenchSuiteSummary;
  /** Recommended FRAME_BATCH_SIZE: bestBatch of the 640×360 stream-frame suite. */
  bestBatch: number;
  rows: BenchRow[];
}

/** Options for {@link benchFrames}. */
export interface BenchFramesOptions {
  /** Minimum seconds per measurement (each also runs at least 2 calls after a warm-up call). Default 2. */
  seconds?: number;
  /** Batch sizes to try. Default [1, 2, 4, 8, 16]. */
  batchSizes?: number[];
  /** Backend when no classifier is given. Default 'auto'. */
  backend?: FrameBackendChoice;
  /** Reuse a loaded classifier (it is not disposed). */
  classifier?: FrameClassifier;
  /** Where lines go. Default console.log. */
  print?: (line: string) => void;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => path.join(root, `node_modules/@vladmandic/face-api/demo/sample${i}.jpg`));

/**
 * Measures classifier throughput on the real photos for each suite × batch size (≈15 measurements of
 * `seconds` each, so about a minute by default) and prints lines like
 * `frames  backend=wasm  photo     batch=1    5.3 fps/core (189 ms CPU/frame)  wall 5.5 fps  182 ms/call`.
 * @throws Error if the photos are missing or the classifier fails.
 */
export async function benchFrames(opts: BenchFramesOptions = {}): Promise<BenchFramesResult> {
  const seconds = opts.seconds ?? 2;
  const sizes = opts.batchSizes ?? [1, 2, 4, 8, 16];
  const print = opts.print ?? ((line: string) => console.log(line));
  const classifier = opts.classifier ?? (await createFrameClassifier({ backend: opts.backend ?? 'auto' }));
  try {
    const photos = PHOTOS.map((p) => readFileSync(p));
    const frames640 = await Promise.all(photos.map((b) => sharp(b).resize(640, 360, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer()));
    const pixels: RawImage[] = await Promise.all(
      photos.map(async (b) => {
        const { data, info } = await sharp(b).resize(MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        return { data, width: info.width, height: info.height, channels: 3 as const };
      }),
    );
    const suites: Array<[BenchSuite, (batch: number, offset: number) => Promise<unknown>]> = [
      ['photo', (n, o) => classifier.classify(pick(photos, n, o))],
      ['frame640', (n, o) => classifier.classify(pick(frames640, n, o))],
      ['model', (n, o) => classifier.classifyPixels(pick(pixels, n, o))],
    ];
    print(`frames  backend=${classifier.backend}  model=${classifier.model}@${classifier.modelVersion}  ${seconds}s per measurement, fps per core (CPU time)`);
    const rows: BenchRow[] = [];
    for (const [suite, call] of suites) {
      for (const batch of sizes) {
        const row = await measure(suite, batch, seconds, call);
        rows.push(row);
        const label = batch === 1 ? 'single  ' : `batch=${String(batch).padEnd(2)}`;
        print(
          `frames  backend=${classifier.backend}  ${suite.padEnd(8)}  ${label}  ${row.fps.toFixed(1).padStart(5)} fps (${row.cpuMsPerFrame.toFixed(0)} ms/frame CPU)` +
            `  wall ${row.wallFps.toFixed(1)} fps, ${row.msPerCall.toFixed(0)} ms/call`,
        );
      }
    }
    const summary = (suite: BenchSuite): BenchSuiteSummary => summarise(rows.filter((r) => r.suite === suite));
    const photo = summary('photo');
    const stream = summary('frame640');
    const modelOnly = summary('model');
    print(
      `frames  backend=${classifier.backend}  best batch: photo=${photo.bestBatch} frame640=${stream.bestBatch} model=${modelOnly.bestBatch}` +
        `  → FRAME_BATCH_SIZE=${stream.bestBatch}`,
    );
    return {
      backend: classifier.backend,
      model: `${classifier.model}@${classifier.modelVersion}`,
      singleFps: photo.singleFps,
      batchedFps: photo.batchedFps,
      msPerFrame: rows.find((r) => r.suite === 'photo' && r.batch === 1)?.cpuMsPerFrame ?? Number.NaN,
      photo,
      frames640: stream,
      modelOnly,
      bestBatch: stream.bestBatch,
      rows,
    };
  } finally {
    if (!opts.classifier) classifier.dispose();
  }
}

/** n items cycling through `items` from `offset` (so consecutive calls see different images). */
function pick<T>(items: T[], n: number, offset: number): T[] {
  return Array.from({ length: n }, (_, i) => items[(offset + i) % items.length]!);
}

async function measure(
  suite: BenchSuite,
  batch: number,
  seconds: number,
  call: (batch: number, offset: number) => Promise<unknown>,
): Promise<BenchRow> {
  await call(batch, 0); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let calls = 0;
  while (calls < 2 || performance.now() - t0 < seconds * 1000) {
    await call(batch, calls * batch);
    calls++;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const frames = calls * batch;
  return {
    suite,
    batch,
    fps: (frames * 1000) / cpuMs,
    cpuMsPerFrame: cpuMs / frames,
    wallFps: (frames * 1000) / wallMs,
    msPerCall: wallMs / calls,
    frames,
  };
}

function summarise(rows: BenchRow[]): BenchSuiteSummary {
  const batchedFps: Record<number, number> = {};
  for (const r of rows) batchedFps[r.batch] = round1(r.fps);
  const best = Math.max(...rows.map((r) => r.fps));
  const bestBatch = rows.filter((r) => r.fps >= best * 0.95).sort((a, b) => a.batch - b.batch)[0]?.batch ?? 1;
  return { singleFps: round1(rows.find((r) => r.batch === 1)?.fps ?? Number.NaN), batchedFps, bestBatch };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  const seconds = process.argv[2] ? Number(process.argv[2]) : undefined;
  benchFrames({ seconds }).then(
    (r) => console.log(JSON.stringify({ backend: r.backend, singleFps: r.singleFps, batchedFps: r.batchedFps, msPerFrame: r.msPerFrame, frames640: r.frames640, modelOnly: r.modelOnly, bestBatch: r.bestBatch })),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
