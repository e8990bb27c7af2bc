/**
 * `warden models build`: compiles nsfwjs's bundled model to ONNX (analyzer/onnx/compile.ts) and face-api's Tiny Face
 * Detector, recognition and age networks (analyzer/onnx/face-detector.ts, face-recognition.ts, age-gender.ts), checks
 * each against TF.js on the face-api sample photos and generated images, and caches them with their verdicts
 * (analyzer/onnx/cache.ts, analyzer/faces/compiled-cache.ts). Run at
 * build time (`npm test`, `npm run demo`, the Dockerfile) so analyzer processes start with the models ready; cached,
 * verified models make it a no-op. Prints one JSON line per model; exit 1 when one is not verified equal (the
 * analyzers then use TF.js for it).
 */
import type { Config } from '../../core/config.ts';
import { ensureOnnxModel } from '../../analyzer/onnx/cache.ts';
import { FaceAnalyzer } from '../../analyzer/faces/index.ts';
import { COMPILED_FACE_NETS, cachedFaceNet, type CompiledFaceNet } from '../../analyzer/faces/compiled-cache.ts';

export async function runModelsBuild(config: Config, opts: { quiet: boolean }): Promise<number> {
  const started = Date.now();
  const m = await ensureOnnxModel({ cacheDir: config.analyzer.modelCacheDir ?? undefined });
  const line = { file: m.file, source: m.source, sha256: m.sha256, verified: m.report.verified, maxAbsDiff: m.report.maxAbsDiff, images: m.report.images, topClassMismatches: m.report.topClassMismatches, ms: Date.now() - started };
  if (!opts.quiet || !m.report.verified) process.stdout.write(`${JSON.stringify(line)}\n`);
  if (!m.report.verified) process.stderr.write('warden models build: the compiled model is NOT equal to TF.js; analyzers will use TF.js instead\n');
  // face-api's networks: compiled and checked by loading the face models once, unless every verdict is cached
  const faceStarted = Date.now();
  const nets = Object.keys(COMPILED_FACE_NETS) as CompiledFaceNet[];
  const cached = async () => Promise.all(nets.map((n) => cachedFaceNet(n, config.analyzer.modelCacheDir)));
  let faces = await cached();
  const notes: string[] = [];
  if (faces.some((f) => !f)) {
    notes.push(...(await FaceAnalyzer.load({ modelCacheDir: config.analyzer.modelCacheDir })).notes);
    faces = await cached();
  }
  let ok = m.report.verified;
  for (const [i, f] of faces.entries()) {
    const faceLine = f
      ? { file: f.file, source: f.source, sha256: f.sha256, verified: f.report.verified, maxAbsDiff: f.report.maxAbsDiff, images: f.report.images, ms: Date.now() - faceStarted }
      : { source: `face-api/${nets[i]}`, verified: false, note: notes.find((n) => n.startsWith(nets[i]!)) ?? 'not compiled', ms: Date.now() - faceStarted };
    ok &&= faceLine.verified;
    if (!opts.quiet || !faceLine.verified) process.stdout.write(`${JSON.stringify(faceLine)}\n`);
  }
  for (const note of notes) process.stderr.write(`warden models build: ${note}\n`);
  return ok ? 0 : 1;
}
