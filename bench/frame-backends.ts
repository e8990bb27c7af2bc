/**
 * The frame classifier's backends side by side, measured in one run: the compiled ONNX model on onnxruntime-node,
 * `@tensorflow/tfjs-node` when it is installed, and the TF.js wasm backend (the reference). Per backend: fps per
 * core (CPU time) on 640×360 stream frames (decode + resize + model) single and batched, and the model alone,
 * with the ratio to wasm; then the frame analyzer's throughput on the whole machine — one process per core,
 * each with its own session, classifying stream frames in batches — as the analyzer workers run it.
 * Run alone with `npx tsx bench/frame-backends.ts [seconds]`.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { createFrameClassifier, type FrameClassifier } from '../analyzer/frame-model.ts';
import { OnnxFrameClassifier } from '../analyzer/onnx/classifier.ts';
import { ensureOnnxModel } from '../analyzer/onnx/cache.ts';
import { createClassifier, type ClassifierChoice } from '../analyzer/classifiers.ts';
import { nsfwjsPackage } from '../analyzer/onnx/compile.ts';
import { benchFrames, type BenchFramesResult } from './frames.ts';

/** One backend's figures (fps per core, CPU-time based). */
export interface BackendFigures {
  backend: string;
  frame640SingleFps: number;
  frame640BatchedFps: number;
  bestBatch: number;
  modelOnlyFps: number;
  /** frame640BatchedFps ÷ wasm's (the whole frame: decode, resize, model). */
  ratioToWasm: number;
  /** modelOnlyFps ÷ wasm's (the model alone, as the ONNX target is stated). */
  modelRatioToWasm: number;
  msPerFrame: number;
}

/** The whole machine running the frame analyzer: `processes` processes, frames per wall-clock second in total. */
export interface MachineFigures { backend: string; processes: number; batch: number; fps: number; perProcessFps: number[]; seconds: number }

export interface FrameBackendsResult { backends: BackendFigures[]; machine: MachineFigures; wasmDetail: BenchFramesResult }

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => path.join(root, `node_modules/@vladmandic/face-api/demo/sample${i}.jpg`));

/** The six face-api photos as 640×360 JPEG stream frames (q85). */
export async function streamFrames(): Promise<Buffer[]> {
  return Promise.all(PHOTOS.map((p) => sharp(readFileSync(p)).resize(640, 360, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer()));
}

/**
 * Measures every available backend in this process, then the machine with one process per core on the fastest.
 * @throws Error when no backend can be loaded.
 */
export async function benchFrameBackends(opts: { seconds?: number; processes?: number; print?: (l: string) => void } = {}): Promise<FrameBackendsResult> {
  const seconds = opts.seconds ?? 2;
  const print = opts.print ?? ((l: string) => console.log(l));
  const classifiers: FrameClassifier[] = [];
  const model = await ensureOnnxModel();
  if (model.report.verified) classifiers.push(await OnnxFrameClassifier.create({ model: model.file, modelVersion: nsfwjsPackage().version }));
  else print(`frames  onnxruntime skipped: the compiled model is not verified equal to TF.js (max |Δp| ${model.report.maxAbsDiff})`);
  const tfjs = await createFrameClassifier({ backend: 'auto' }); // tfjs-node when installed, else wasm
  classifiers.push(tfjs);
  let wasmDetail: BenchFramesResult | undefined;
  const results: { c: FrameClassifier; r: BenchFramesResult }[] = [];
  try {
    for (const c of classifiers) {
      const r = await benchFrames({ classifier: c, seconds, batchSizes: [1, 4, 8], print });
      results.push({ c, r });
      if (c.backend === 'wasm') wasmDetail = r;
    }
    if (!wasmDetail) {
      // tfjs-node took the TF.js slot: wasm is still the reference for the ratio
      tfjs.dispose();
      const w = await createFrameClassifier({ backend: 'wasm' });
      classifiers.push(w);
      wasmDetail = await benchFrames({ classifier: w, seconds, batchSizes: [1, 4, 8], print });
      results.push({ c: w, r: wasmDetail });
    }
  } finally {
    for (const c of classifiers) c.dispose();
  }
  const best = (r: BenchFramesResult) => Math.max(...Object.values(r.frames640.batchedFps));
  const wasmBest = best(wasmDetail);
  const wasmModel = Math.max(...Object.values(wasmDetail.modelOnly.batchedFps));
  const backends: BackendFigures[] = results.map(({ c, r }) => ({
    backend: c.backend, frame640SingleFps: r.frames640.singleFps, frame640BatchedFps: best(r), bestBatch: r.frames640.bestBatch,
    modelOnlyFps: Math.max(...Object.values(r.modelOnly.batchedFps)), ratioToWasm: Math.round((best(r) / wasmBest) * 100) / 100,
    modelRatioToWasm: Math.round((Math.max(...Object.values(r.modelOnly.batchedFps)) / wasmModel) * 100) / 100,
    msPerFrame: Math.round((1000 / best(r)) * 10) / 10,
  }));
  print('frames  backend        640x360 single  640x360 batched  ms/frame  vs wasm   model only  vs wasm   (fps per core)');
  for (const b of backends) {
    print(`frames  ${b.backend.padEnd(13)} ${b.frame640SingleFps.toFixed(1).padStart(10)}  ${b.frame640BatchedFps.toFixed(1).padStart(12)} (b${b.bestBatch})  ${b.msPerFrame.toFixed(1).padStart(8)}  ${b.ratioToWasm.toFixed(2).padStart(6)}x  ${b.modelOnlyFps.toFixed(1).padStart(9)}  ${b.modelRatioToWasm.toFixed(2).padStart(6)}x`);
  }
  const fastest = backends.reduce((a, b) => (b.frame640BatchedFps > a.frame640BatchedFps ? b : a));
  const choice: ClassifierChoice = fastest.backend === 'onnxruntime' ? 'onnx' : fastest.backend === 'tfjs-node' ? 'tfjs-node' : 'wasm';
  const machine = await benchMachine({ backend: choice, processes: opts.processes ?? os.availableParallelism(), batch: Math.max(4, fastest.bestBatch), seconds: Math.max(4, seconds * 2) });
  print(`frames  the machine: ${machine.processes} analyzer processes on ${fastest.backend}, batches of ${machine.batch}: ${machine.fps.toFixed(0)} frames/s of 640x360 stream frames (${machine.perProcessFps.map((f) => f.toFixed(0)).join(' + ')})`);
  return { backends, machine, wasmDetail };
}

/** Forks `processes` children (this file with --child), each classifying stream frames for `seconds`; sums their rates. */
export async function benchMachine(o: { backend: ClassifierChoice; processes: number; batch: number; seconds: number }): Promise<MachineFigures> {
  const self = fileURLToPath(import.meta.url);
  const runs = Array.from({ length: o.processes }, () => new Promise<number>((resolve, reject) => {
    const child = fork(self, ['--child', o.backend, String(o.batch), String(o.seconds)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: { fps?: number; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m.fps ?? 0)));
    child.once('exit', (code) => { if (code) reject(new Error(`bench child exited ${code}`)); });
  }));
  const perProcessFps = await Promise.all(runs);
  return { backend: o.backend, processes: o.processes, batch: o.batch, fps: perProcessFps.reduce((a, b) => a + b, 0), perProcessFps, seconds: o.seconds };
}

/** A child of {@link benchMachine}: waits for every sibling to be loaded (a 3 s start barrier), then measures. */
async function child(backend: ClassifierChoice, batch: number, seconds: number): Promise<void> {
  try {
    const frames = await streamFrames();
    const c = await createClassifier({ backend });
    await c.classify(frames.slice(0, batch));
    await new Promise((r) => setTimeout(r, 3000)); // all processes loaded before anyone measures
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await c.classify(Array.from({ length: batch }, (_, i) => frames[(n + i) % frames.length]!));
      n += batch;
    }
    process.send?.({ fps: (n * 1000) / (performance.now() - t0) });
    c.dispose();
  } catch (err) {
    process.send?.({ error: err instanceof Error ? err.message : String(err) });
  }
  process.exit(0);
}

const argv = process.argv;
if (argv[2] === '--child') {
  void child(argv[3] as ClassifierChoice, Number(argv[4]), Number(argv[5]));
} else if (argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(argv[1])).href) {
  benchFrameBackends({ seconds: argv[2] ? Number(argv[2]) : undefined }).then((r) => console.log(JSON.stringify({ backends: r.backends, machine: r.machine })), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
