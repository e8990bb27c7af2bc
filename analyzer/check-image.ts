/**
 * `warden check-image <files…>`: scores image files with the frame classifier, one JSON line per file.
 */
import { readFile } from 'node:fs/promises';
import { NSFW_LABELS, type FrameClassifier, type FrameResult, type NsfwScores } from './frame-model.ts';

/** Files read and classified per model call (bounds memory for long file lists; output order is kept). */
export const CHECK_IMAGE_BATCH = 8;

/** One output line of {@link runCheckImage}: scores for a file, or why it has none. */
export type CheckImageLine =
  | { file: string; nsfw: NsfwScores; backend: string; model: string }
  | { file: string; error: string };

/**
 * Classifies each file and writes one JSON line per file to `out`, in argument order:
 * `{"file","nsfw":{"Drawing","Hentai","Neutral","Porn","Sexy"},"backend","model"}` where `model` is
 * `nsfwjs/MobileNetV2@<nsfwjs version>`, or `{"file","error"}` for a missing, unreadable or undecodable file
 * (also reported to `err` as `check-image: <file>: <reason>`). Keeps going after a bad file.
 * @returns the process exit code: 1 if any file failed, else 0 (also 0 for an empty list).
 * @throws only if the classifier itself fails (not for bad files).
 */
export async function runCheckImage(
  files: string[],
  classifier: FrameClassifier,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const model = `${classifier.model}@${classifier.modelVersion}`;
  let failed = 0;
  for (let i = 0; i < files.length; i += CHECK_IMAGE_BATCH) {
    const chunk = files.slice(i, i + CHECK_IMAGE_BATCH);
    const read = await Promise.all(
      chunk.map(async (file): Promise<Buffer | { error: string }> => {
        try {
          return await readFile(file);
        } catch (e) {
          return { error: `cannot read file: ${readError(e)}` };
        }
      }),
    );
    const readable = read.filter((r): r is Buffer => Buffer.isBuffer(r));
    const results = readable.length > 0 ? await classifier.classify(readable) : [];
    let next = 0;
    chunk.forEach((file, j) => {
      const r = read[j]!;
      const result: FrameResult = Buffer.isBuffer(r) ? results[next++]! : { ok: false, error: r.error };
      const line: CheckImageLine = result.ok
        ? { file, nsfw: ordered(result.scores), backend: classifier.backend, model }
        : { file, error: result.error };
      if (!result.ok) {
        failed++;
        err.write(`check-image: ${file}: ${result.error}\n`);
      }
      out.write(JSON.stringify(line) + '\n');
    });
  }
  return failed > 0 ? 1 : 0;
}

/** Scores with keys in the documented label order (stable JSON). */
function ordered(scores: NsfwScores): NsfwScores {
  return Object.fromEntries(NSFW_LABELS.map((l) => [l, scores[l]])) as NsfwScores;
}

function readError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(e);
}
