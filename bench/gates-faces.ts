/**
 * Face/age analysis throughput (analyzer/faces `FaceAnalyzer`: @vladmandic/face-api on TensorFlow.js, its detector,
 * landmark, recognition and age networks compiled to ONNX on onnxruntime, with face-api on TF.js only measured beside it as the peer) at the tap's
 * frame size, 640×360 JPEG: frames with faces (face-api's demo photos, scaled and padded to 640×360 as the demo
 * stream shows them) and frames without (ffmpeg's `testsrc2` pattern) measured separately, which shows the cascade
 * (the landmark, descriptor and age models run only where the detector found a face), and the sampled-frame rate
 * the face stage sustains at FACE_EVERY_N (face analysis on every Nth frame sample).
 * Figures are per core: frames divided by the CPU time this process spent (user + system, all threads), as in
 * bench/frames.ts. Run alone with `npx tsx bench/gates-faces.ts [seconds]`.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../core/config.ts';
import { runFfmpeg } from '../ingest/ffmpeg.ts';
import { samplePhotos } from '../bin/demo-media.ts';
import { FaceAnalyzer } from '../analyzer/faces/index.ts';
import { isMain } from './gates-common.ts';

/** One kind of frame, measured. */
export interface FaceSuite {
  /** Frames per CPU-second (per core). */
  fpsPerCore: number;
  /** CPU milliseconds per frame. */
  cpuMsPerFrame: number;
  /** Frames per wall-clock second. */
  wallFps: number;
  /** Mean milliseconds the models took per frame (FaceAnalyzer's own timing, decode excluded). */
  modelMs: number;
  /** Mean faces found per frame. */
  facesPerFrame: number;
  frames: number;
}

/** Result of {@link benchFaces}. */
export interface FacesBench {
  /** TF.js backend of the landmark, descriptor and age models. */
  backend: string;
  /** Backends of the detector, landmark, recognition and age networks (analyzer/faces: onnxruntime once verified equal, else tfjs). */
  networks: { detector: string; landmarks: string; recognition: string; age: string };
  /** The peer: the same suites with face-api's own TF.js networks throughout (null when they already are). */
  tfjs: { withFaces: FaceSuite; withoutFaces: FaceSuite } | null;
  width: number;
  height: number;
  withFaces: FaceSuite;
  withoutFaces: FaceSuite;
  /** Frames without faces per frame with faces, per core: what the cascade saves on an empty or faceless frame. */
  cascadeRatio: number;
  /** CPU milliseconds each face found adds (landmarks + descriptor + age), from the two suites' difference. */
  perFaceCpuMs: number;
  /** FACE_EVERY_N default (config.analyzer.faceEveryN) and SAMPLE_INTERVAL_S default, in seconds. */
  faceEveryN: number;
  sampleIntervalS: number;
  /**
   * Sampled frames per core-second the face stage keeps up with at FACE_EVERY_N (face fps × N), and the live
   * streams per core that is at one sample per SAMPLE_INTERVAL_S, for all-faces and all-empty frames.
   */
  effective: { withFaces: { samplesPerCoreS: number; streamsPerCore: number }; withoutFaces: { samplesPerCoreS: number; streamsPerCore: number } };
}

const W = 640;
const H = 360;

/** The face-api demo photos as the tap delivers the demo stream: scaled to fit and padded to 640×360, JPEG q85. */
async function faceFrames(): Promise<Buffer[]> {
  return Promise.all(samplePhotos().map((p) => sharp(p).resize(W, H, { fit: 'contain', background: { r: 0, g: 0, b: 0 } }).jpeg({ quality: 85 }).toBuffer()));
}

/** Six 640×360 JPEG frames of ffmpeg's `testsrc2` pattern (one per second of it, so each differs). */
async function patternFrames(): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-bench-faces-'));
  try {
    await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=1:duration=6`, '-q:v', '3', path.join(dir, 'f%02d.jpg')]);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jpg')).sort();
    return Promise.all(files.map((f) => readFile(path.join(dir, f))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Analyses `frames` in turn for at least `seconds` (and at least one pass) after a warm-up pass. */
async function measure(analyzer: FaceAnalyzer, frames: Buffer[], seconds: number): Promise<FaceSuite> {
  for (const f of frames) await analyzer.analyze(f); // warm-up: first calls compile the wasm kernels
  let n = 0;
  let faces = 0;
  let modelMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (n < frames.length || performance.now() - t0 < seconds * 1000) {
    const r = await analyzer.analyze(frames[n % frames.length]!);
    faces += r.faces.length;
    modelMs += r.ms;
    n++;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return { fpsPerCore: r1((n * 1000) / cpuMs), cpuMsPerFrame: r1(cpuMs / n), wallFps: r1((n * 1000) / wallMs), modelMs: r1(modelMs / n), facesPerFrame: r1(faces / n), frames: n };
}

/**
 * Measures FaceAnalyzer throughput on 640×360 frames with and without faces (`seconds` each, default 5, plus
 * model loading and warm-up: about 15 s) and prints one line per suite and one for FACE_EVERY_N.
 * @throws Error when the models, the photos or ffmpeg are missing.
 */
export async function benchFaces(opts: { seconds?: number; print?: (line: string) => void } = {}): Promise<FacesBench> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const seconds = opts.seconds ?? 5;
  const defaults = loadConfig({});
  const [analyzer, withF, withoutF] = await Promise.all([FaceAnalyzer.load(), faceFrames(), patternFrames()]);
  const backend = tf.getBackend();
  const withFaces = await measure(analyzer, withF, seconds);
  const withoutFaces = await measure(analyzer, withoutF, seconds);
  const networks = { ...analyzer.backends };
  let tfjs: FacesBench['tfjs'] = null;
  if (Object.values(networks).some((b) => b !== 'tfjs')) {
    // the peer: face-api's own networks (loading them makes them current for this process's face-api)
    const reference = await FaceAnalyzer.load({ networks: 'tfjs' });
    tfjs = { withFaces: await measure(reference, withF, seconds), withoutFaces: await measure(reference, withoutF, seconds) };
    await FaceAnalyzer.load(); // the compiled networks current again
  }
  const n = defaults.analyzer.faceEveryN;
  const intervalS = defaults.tap.sampleIntervalMs / 1000;
  const eff = (s: FaceSuite) => ({ samplesPerCoreS: Math.round(s.fpsPerCore * n * 10) / 10, streamsPerCore: Math.floor(s.fpsPerCore * n * intervalS) });
  const effective = { withFaces: eff(withFaces), withoutFaces: eff(withoutFaces) };
  const cascadeRatio = Math.round((withoutFaces.fpsPerCore / withFaces.fpsPerCore) * 100) / 100;
  const perFaceCpuMs = Math.round(((withFaces.cpuMsPerFrame - withoutFaces.cpuMsPerFrame) / Math.max(withFaces.facesPerFrame, 0.1)) * 10) / 10;
  const line = (label: string, s: FaceSuite) =>
    `faces   ${label}  ${s.fpsPerCore.toFixed(1).padStart(5)} fps/core (${s.cpuMsPerFrame.toFixed(0)} ms CPU/frame, models ${s.modelMs.toFixed(0)} ms), wall ${s.wallFps.toFixed(1)} fps, ${s.facesPerFrame} faces/frame`;
  print(`faces   backend=${backend}, detector on ${networks.detector}, landmarks on ${networks.landmarks}, recognition on ${networks.recognition}, age on ${networks.age}  ${W}x${H} JPEG, ${seconds} s per suite, fps per core (CPU time)`);
  print(line('with faces    (detector + landmarks + descriptor + age)', withFaces));
  print(line('without faces (detector only: the cascade stops)      ', withoutFaces));
  if (tfjs) {
    print(line('with faces,    face-api on TF.js only (peer)          ', tfjs.withFaces));
    print(line('without faces, face-api on TF.js only (peer)          ', tfjs.withoutFaces));
    print(`faces   compiled networks: ${(withFaces.fpsPerCore / tfjs.withFaces.fpsPerCore).toFixed(2)}x TF.js with faces, ${(withoutFaces.fpsPerCore / tfjs.withoutFaces.fpsPerCore).toFixed(2)}x without`);
  }
  print(`faces   cascade: a frame without faces costs ${(1 / cascadeRatio).toFixed(2)}x one with faces (each face found adds ${perFaceCpuMs.toFixed(0)} ms CPU); at FACE_EVERY_N=${n} (one sample per ${intervalS} s) the face stage keeps up with ${effective.withFaces.samplesPerCoreS} samples/s per core (≈ ${effective.withFaces.streamsPerCore} streams) with faces on every frame, ${effective.withoutFaces.samplesPerCoreS}/s (≈ ${effective.withoutFaces.streamsPerCore} streams) on empty frames`);
  return { backend, networks, tfjs, width: W, height: H, withFaces, withoutFaces, cascadeRatio, perFaceCpuMs, faceEveryN: n, sampleIntervalS: intervalS, effective };
}

if (isMain(import.meta.url)) {
  const seconds = process.argv[2] ? Number(process.argv[2]) : undefined;
  benchFaces({ seconds }).then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
