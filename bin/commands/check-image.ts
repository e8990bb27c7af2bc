/** `warden check-image FILE...`: one JSON line per file; needs neither Postgres nor Redis. */
import type { Config } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { createClassifier } from '../../analyzer/classifiers.ts';
import { runCheckImage } from '../../analyzer/check-image.ts';

export async function runCheckImageCommand(config: Config, files: string[]): Promise<number> {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const classifier = await createClassifier({ backend: config.analyzer.frameBackend, onnxThreads: config.analyzer.onnxThreads, modelCacheDir: config.analyzer.modelCacheDir, logger });
  try {
    return await runCheckImage(files, classifier, process.stdout, process.stderr);
  } finally {
    classifier.dispose();
  }
}
