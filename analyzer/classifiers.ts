/**
 * Chooses the frame classifier's backend, fastest first: onnxruntime-node with the compiled nsfwjs model (only
 * when verified equal to TF.js, analyzer/onnx/cache.ts), `@tensorflow/tfjs-node` when installed, the TF.js wasm
 * backend (the reference). The choice, and why a faster one was passed over, is logged; the backend is
 * recorded with every signal.
 */
import type { Logger } from '../core/logger.ts';
import { errorText } from '../core/errors.ts';
import { createFrameClassifier, type FrameClassifier } from './frame-model.ts';
import { OnnxFrameClassifier } from './onnx/classifier.ts';
import { ensureOnnxModel } from './onnx/cache.ts';
import { nsfwjsPackage } from './onnx/compile.ts';

/** `auto`: the fastest that works; `onnx`, `tfjs-node`, `wasm`: that one or an error. */
export type ClassifierChoice = 'auto' | 'onnx' | 'tfjs-node' | 'wasm';

/** Options of {@link createClassifier}. */
export interface ClassifierOptions {
  backend: ClassifierChoice;
  /** Intra-op threads of an ONNX session (default 1). */
  onnxThreads?: number;
  /** Cache of the compiled model (default analyzer/onnx/cache.ts DEFAULT_MODEL_CACHE). */
  modelCacheDir?: string | null;
  logger?: Logger;
}

/**
 * A frame classifier on the chosen backend.
 * @throws Error when an explicitly chosen backend cannot be used (for `onnx`: the model does not compile, does
 *   not open, or is not verified equal to TF.js), naming why.
 */
export async function createClassifier(opts: ClassifierOptions): Promise<FrameClassifier> {
  const log = opts.logger;
  if (opts.backend === 'onnx' || opts.backend === 'auto') {
    let why: string;
    try {
      const model = await ensureOnnxModel({ cacheDir: opts.modelCacheDir ?? undefined });
      if (model.report.verified) {
        const c = await OnnxFrameClassifier.create({ model: model.file, modelVersion: nsfwjsPackage().version, threads: opts.onnxThreads });
        log?.info({ backend: c.backend, model: model.source, sha256: model.sha256.slice(0, 12), maxAbsDiff: model.report.maxAbsDiff, images: model.report.images }, 'frame backend selected: compiled ONNX model, verified equal to TF.js');
        return c;
      }
      why = `the compiled model differs from TF.js (max difference ${model.report.maxAbsDiff}, top class differs on ${model.report.topClassMismatches.join(', ') || 'none'})`;
    } catch (err) {
      why = `the ONNX path failed: ${errorText(err)}`;
    }
    if (opts.backend === 'onnx') throw new Error(`frame backend 'onnx' requested but ${why}; use FRAME_BACKEND=auto or wasm`);
    log?.warn({ reason: why }, 'onnxruntime not used for frames');
  }
  return createFrameClassifier({ backend: opts.backend === 'auto' ? 'auto' : opts.backend, logger: log });
}
