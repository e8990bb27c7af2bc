/**
 * `warden models build`: compiles nsfwjs's bundled model to ONNX (analyzer/onnx/compile.ts), checks it against
 * TF.js on the face-api sample photos and generated images, and caches both (analyzer/onnx/cache.ts). Run at build
 * time (`npm test`, `npm run demo`, the Dockerfile) so analyzer processes start with the model ready; a cached,
 * verified model makes it a no-op. Prints one JSON line; exit 1 when the model is not verified equal.
 */
import type { Config } from '../../core/config.ts';
import { ensureOnnxModel } from '../../analyzer/onnx/cache.ts';

export async function runModelsBuild(config: Config, opts: { quiet: boolean }): Promise<number> {
  const started = Date.now();
  const m = await ensureOnnxModel({ cacheDir: config.analyzer.modelCacheDir ?? undefined });
  const line = { file: m.file, source: m.source, sha256: m.sha256, verified: m.report.verified, maxAbsDiff: m.report.maxAbsDiff, images: m.report.images, topClassMismatches: m.report.topClassMismatches, ms: Date.now() - started };
  if (!opts.quiet || !m.report.verified) process.stdout.write(`${JSON.stringify(line)}\n`);
  if (!m.report.verified) process.stderr.write('warden models build: the compiled model is NOT equal to TF.js; analyzers will use TF.js instead\n');
  return m.report.verified ? 0 : 1;
}
