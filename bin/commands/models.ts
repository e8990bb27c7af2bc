/**
 * `warden models build`: compiles nsfwjs's bundled model to ONNX (analyzer/onnx/compile.ts) and face-api's Tiny Face
 * Detector and recognition network (analyzer/onnx/face-detector.ts, face-recognition.ts), checks each against TF.js
 * on the face-api sample photos and generated images, and caches them with their verdicts (analyzer/onnx/cache.ts, analyzer/faces/compiled-cache.ts). Run at
 * build time (`npm test`, `npm run demo`, the Dockerfile) so analyzer processes start with the models ready; cached,
 * verified models make it a no-op. Prints one JSON line per model; exit 1 when one is not verified equal (the
 * analyzers then use TF.js for it).
 */
import type { Config } from '../../core/config.ts';
import { ensureOnnxModel } from '../../analyzer/onnx/cache.ts';
import { FaceAnalyzer } from '../../analyzer/faces/index.ts';

export async function runModelsBuild(config: Config, opts: { quiet: boolean }): Promise<number> {
  const started = Date.now();
  const m = await ensureOnnxModel({ cacheDir: config.analyzer.modelCacheDir ?? undefined });
  const line = { file: m.file, source: m.source, sha256: m.sha256, verified: m.report.verified, maxAbsDiff: m.report.maxAbsDiff, images: m.report.images, topClassMismatches: m.report.topClassMismatches, ms: Date.now() - started };
  if (!opts.quiet || !m.report.verified) process.stdout.write(`${JSON.stringify(line)}\n`);
  if (!m.report.verified) process.stderr.write('warden models build: the compiled model is NOT equal to TF.js; analyzers will use TF.js instead\n');
  const faceStarted = Date.now();
  const faces = await FaceAnalyzer.load({ modelCacheDir: config.analyzer.modelCacheDir });
  const faceLine = { model: 'face-api', backends: faces.backends, notes: faces.notes, ms: Date.now() - faceStarted };
  if (!opts.quiet || faces.notes.length) process.stdout.write(`${JSON.stringify(faceLine)}\n`);
  for (const note of faces.notes) process.stderr.write(`warden models build: ${note}\n`);
  return m.report.verified && faces.notes.length === 0 ? 0 : 1;
}
