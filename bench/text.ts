/**
 * Text analyzer latency and throughput: Warden's full `analyze()` (normalise + obscenity + pattern rules)
 * against obscenity's matcher alone (English dataset, recommended transformers) on the same messages.
 * Run alone with `npx tsx bench/text.ts [seconds]`; prints readable lines and returns the figures.
 *
 * The message mix: the labelled corpus (tests/fixtures/text-corpus.ts) plus generated clean chat, about 3 clean
 * messages for every corpus message, shuffled with a fixed seed. Latency is per message (wall clock, one
 * thread, after warm-up); throughput is messages per CPU-second of this process, i.e. per core.
 */
import { pathToFileURL } from 'node:url';
import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import { TextAnalyzer } from '../analyzer/text/index.ts';
import { TEXT_CORPUS } from '../tests/fixtures/text-corpus.ts';
import { rng } from './gates-common.ts';

/** Latency percentiles in microseconds and throughput in messages per CPU-second. */
export interface TextBenchRow { p50Us: number; p99Us: number; msgsPerSec: number }

/** Result of {@link benchText}. */
export interface TextBenchResult {
  /** Median latency of `analyze()`, µs. */
  p50Us: number;
  /** 99th-percentile latency of `analyze()`, µs (target < 1000). */
  p99Us: number;
  /** `analyze()` calls per CPU-second (target ≥ 20,000). */
  msgsPerSecPerCore: number;
  /** obscenity's `RegExpMatcher.getAllMatches` alone on the same messages. */
  obscenityAlone: TextBenchRow;
  /** Cost of our full analysis relative to obscenity alone: our mean time per message / obscenity's (< 1: cheaper). */
  ratio: number;
  messages: number;
}

const WORDS = ('hello hi hey everyone chat stream tonight great song love this play that again wow nice amazing lol haha omg ' +
  'game level boss fight camera light music dance beautiful outfit thanks welcome back from brazil germany canada ' +
  'morning evening night how are you doing today what is your favourite the a and to of in it so much very').split(' ');


/** The benchmark's message mix (corpus + generated clean chat, shuffled). */
export function benchMessages(seed = 42): string[] {
  const rand = rng(seed);
  const out = TEXT_CORPUS.map((m) => m.text);
  for (let i = 0; i < TEXT_CORPUS.length * 3; i++) {
    const n = 3 + Math.floor(rand() * 12);
    const words: string[] = [];
    for (let j = 0; j < n; j++) words.push(WORDS[Math.floor(rand() * WORDS.length)]!);
    if (rand() < 0.3) words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
    out.push(words.join(' ') + (rand() < 0.3 ? '!' : rand() < 0.2 ? ' 😂' : ''));
  }
  for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [out[i], out[j]] = [out[j]!, out[i]!]; }
  return out;
}

function measure(fn: (s: string) => unknown, messages: string[], seconds: number): TextBenchRow {
  for (let i = 0; i < 3; i++) for (const m of messages) fn(m); // warm-up (JIT)
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < until) {
    for (const m of messages) {
      const t = performance.now();
      fn(m);
      lat.push(performance.now() - t);
      n++;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]! * 1000;
  return { p50Us: pct(0.5), p99Us: pct(0.99), msgsPerSec: n / ((cpu.user + cpu.system) / 1e6) };
}

/**
 * Measures `TextAnalyzer.analyze` and obscenity alone, `seconds` each (default 2), and prints one line each.
 * @returns latency in µs, throughput per core, and the cost ratio (see {@link TextBenchResult}).
 */
export async function benchText(opts: { seconds?: number } = {}): Promise<TextBenchResult> {
  const seconds = opts.seconds ?? 2;
  const messages = benchMessages();
  const analyzer = new TextAnalyzer();
  const obscenity = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
  const ours = measure((s) => analyzer.analyze(s), messages, seconds);
  const alone = measure((s) => obscenity.getAllMatches(s), messages, seconds);
  const r = (x: number) => Math.round(x * 10) / 10;
  const result: TextBenchResult = {
    p50Us: r(ours.p50Us), p99Us: r(ours.p99Us), msgsPerSecPerCore: Math.round(ours.msgsPerSec),
    obscenityAlone: { p50Us: r(alone.p50Us), p99Us: r(alone.p99Us), msgsPerSec: Math.round(alone.msgsPerSec) },
    ratio: Math.round((alone.msgsPerSec / ours.msgsPerSec) * 100) / 100,
    messages: messages.length,
  };
  console.log(`text  ${messages.length} messages (${TEXT_CORPUS.length} corpus + generated clean chat), ${seconds}s each`);
  console.log(`text  analyze()       p50 ${result.p50Us} µs  p99 ${result.p99Us} µs  ${result.msgsPerSecPerCore.toLocaleString('en')} msgs/s/core  (targets: p99 < 1000 µs, ≥ 20,000 msgs/s)`);
  console.log(`text  obscenity alone p50 ${result.obscenityAlone.p50Us} µs  p99 ${result.obscenityAlone.p99Us} µs  ${result.obscenityAlone.msgsPerSec.toLocaleString('en')} msgs/s/core`);
  console.log(`text  full analysis costs ${result.ratio}× obscenity alone per message`);
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const s = Number(process.argv[2]);
  await benchText({ seconds: Number.isFinite(s) && s > 0 ? s : 2 });
}
