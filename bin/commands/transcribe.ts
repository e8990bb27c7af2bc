/**
 * `warden transcribe FILE [--keyphrase PHRASE]... [--no-watch-list]`: JSON transcript of any file ffmpeg reads,
 * offline. Keyword search listens for the spoken watch-list of the policy in force (as the live pipeline
 * does) plus each `--keyphrase`; a phrase with a word the engine's dictionary lacks is refused, since it could
 * never be spotted.
 */
import type { Config } from '../../core/config.ts';
import { PocketsphinxTranscriber, type Keyphrase } from '../../analyzer/audio/index.ts';
import { loadPolicy } from '../../rules/index.ts';

/** Output line: the transcript, the engine and its version, and which watch-list category each hit belongs to. */
export interface TranscribeOutput {
  text: string;
  words: { word: string; start: number; end: number; confidence: number }[];
  keywords: { phrase: string; start: number; end: number; category?: string }[];
  engine: string;
  engineVersion: string;
}

/** @returns exit code: 0 done, 1 unreadable file or unknown keyphrase words (message on stderr via the throw) */
export async function runTranscribeCommand(config: Config, file: string, extra: string[], watchList: boolean): Promise<number> {
  const transcriber = new PocketsphinxTranscriber();
  const listed = watchList ? (await loadPolicy(config.policyFile)).speech.watchList : [];
  const categoryOf = new Map(listed.map((w) => [w.phrase, w.category]));
  const keyphrases: Keyphrase[] = [...listed.map((w) => ({ phrase: w.phrase, threshold: w.threshold })), ...extra.map((phrase) => ({ phrase }))];
  const unknown = await transcriber.unknownWords(extra);
  if (unknown.length) throw new Error(`--keyphrase words not in the ${transcriber.engine} dictionary, so never spotted: ${unknown.join(', ')}`);
  const t = await transcriber.transcribe(file, { keyphrases });
  const out: TranscribeOutput = {
    text: t.text,
    words: t.words,
    keywords: t.keywords.map((k) => (categoryOf.has(k.phrase) ? { ...k, category: categoryOf.get(k.phrase) } : k)),
    engine: t.engine,
    engineVersion: await transcriber.version(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}
