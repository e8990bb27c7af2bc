/**
 * Benchmark: what live taps cost when fed in-process, as `warden serve` runs them. N taps (default 30), each fed the
 * load generator's 720p30 H.264/AAC clip (16 s, a keyframe every 2 s, looped with continuing timestamps) as FLV tags
 * at real-time pace, the way node-media-server hands a live broadcast to its tap (ingest/tap-feed.ts), each starting
 * at a different keyframe; sampling at the default 2 s, audio cut into chunks as in `warden serve`, frames and chunks
 * only counted. After a warm-up (8 s), CPU over a window (default 30 s) read from /proc (bench/cpu.ts): the taps'
 * ffmpeg processes, this process (the feed and the audio chunker: the serving process's share of a tap) and the whole
 * machine. Runs with audio and again without, so the audio tap's cost is the difference.
 *
 * What it leaves out: receiving RTMP and relaying to viewers (the serving process's other work per stream) and the
 * analysis of the frames. Runnable alone: `npx tsx bench/tap-feed.ts [--taps 30] [--seconds 30]`; prints a line per
 * run and, last, one JSON object with the figures.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildDemoVideo } from '../bin/demo-media.ts';
import { StreamTap, classifyTag, type TapSource } from '../ingest/tap.ts';
import { flvTagsOf } from '../ingest/test-flv.ts';
import { CpuSampler, wardenClassifier } from './cpu.ts';
import { isMain } from './gates-common.ts';

/** One FLV tag of the clip and its timestamp (ms). */
interface Tag { data: Buffer; ts: number }

/** Options of {@link benchTapFeed}. */
export interface BenchTapFeedOptions {
  /** Concurrent taps (default 30). */
  taps?: number;
  /** Measured window, seconds (default 30), after an 8 s warm-up. */
  seconds?: number;
  /** Where the clip is cached (default `$TMPDIR/warden-media`). */
  mediaDir?: string;
  /** Print result lines to stdout (default true). */
  print?: boolean;
}

/** One run's figures: cores (1 = one core fully busy) over the window, and what the taps produced. */
export interface TapFeedRun {
  audio: boolean;
  taps: number;
  seconds: number;
  /** The taps' ffmpeg processes. */
  tapsCores: number;
  /** This process: the feed (FLV tag filtering, batching, writes) and the audio chunker. */
  feedCores: number;
  /** The whole machine (everything else running included). */
  machineCores: number;
  /** (taps + feed) per tap, in % of a core. */
  perTapPercent: number;
  frames: number;
  chunks: number;
}

const WARMUP_MS = 8000;
const CLIP_S = 16;

/** The clip's FLV header and tags (remuxed with stream copy), split as node-media-server hands them to subscribers. */
async function clipTags(mediaDir: string): Promise<Tag[]> {
  return flvTagsOf(await buildDemoVideo({ dir: mediaDir, seconds: CLIP_S, keyframeIntervalS: 2 }));
}

/** A coded video keyframe (not a sequence header), as the feed itself reads it. */
const isVideoKeyframe = (t: Tag) => classifyTag(t.data, 'keyframes').packet?.key === true;

/**
 * The clip looped `loops` times: the header and sequence headers once, then the media from the first keyframe on,
 * each loop's timestamps continuing the last (copies with the timestamp rewritten; FLV E.4.1: 24 bits + 8-bit
 * extension). @returns the header tags and the media tags.
 */
function looped(tags: Tag[], loops: number): { head: Tag[]; media: Tag[] } {
  const first = tags.findIndex(isVideoKeyframe);
  const head = tags.slice(0, first);
  const body = tags.slice(first);
  const media: Tag[] = [];
  for (let l = 0; l < loops; l++) {
    for (const t of body) {
      const ts = t.ts + l * CLIP_S * 1000;
      const data = Buffer.from(t.data);
      data.writeUIntBE(ts & 0xffffff, 4, 3);
      data[7] = (ts >>> 24) & 0xff;
      media.push({ data, ts });
    }
  }
  return { head, media };
}

/** Replays the looped clip to each opened sink at real-time pace from the given keyframe, on one shared timer. */
class Replay {
  private readonly sinks = new Set<{ sink: (b: Buffer) => void; t0: number; i: number }>();
  private readonly timer: NodeJS.Timeout;
  /** Where the keyframes of the clip's first pass are in `media`. */
  private readonly keys: number[];

  constructor(private readonly clip: { head: Tag[]; media: Tag[] }) {
    this.keys = clip.media.flatMap((t, i) => (isVideoKeyframe(t) && t.ts < CLIP_S * 1000 ? [i] : []));
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** A source starting at the `k`-th keyframe of the clip. */
  source(k: number): TapSource {
    const start = this.keys[k % this.keys.length]!;
    return {
      open: (sink) => {
        for (const t of this.clip.head) sink(t.data);
        const entry = { sink, t0: Date.now() - this.clip.media[start]!.ts, i: start };
        this.sinks.add(entry);
        return () => this.sinks.delete(entry);
      },
    };
  }

  private tick(): void {
    const now = Date.now();
    for (const s of this.sinks) {
      const { media } = this.clip;
      while (s.i < media.length && media[s.i]!.ts <= now - s.t0) s.sink(media[s.i++]!.data);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.sinks.clear();
  }
}

async function run(clip: Tag[], o: Required<Omit<BenchTapFeedOptions, 'mediaDir'>>, audio: boolean): Promise<TapFeedRun> {
  const replay = new Replay(looped(clip, Math.ceil((WARMUP_MS / 1000 + o.seconds + 20) / CLIP_S)));
  let frames = 0;
  let chunks = 0;
  const log = pino({ level: 'warn' });
  const taps = Array.from({ length: o.taps }, (_, k) => new StreamTap({
    input: `bench tap ${k}`, source: replay.source(k), sampleIntervalMs: 2000, maxHeight: 360, logger: log,
    ...(audio ? { audio: { onChunk: () => { chunks++; } } } : {}),
    onFrame: () => { frames++; },
  }));
  // this process is the `warden` group (the feed's side of the serving process), the taps are ffmpeg writing image2pipe
  const sampler = new CpuSampler(wardenClassifier({ warden: process.pid })).start();
  try {
    for (const t of taps) t.start();
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    sampler.window();
    const [f0, c0] = [frames, chunks];
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const w = sampler.window();
    const tapsCores = w.groups.taps ?? 0;
    const feedCores = w.groups.warden ?? 0;
    const r: TapFeedRun = {
      audio, taps: o.taps, seconds: w.seconds, tapsCores, feedCores, machineCores: w.machineBusy,
      perTapPercent: Math.round(((tapsCores + feedCores) / o.taps) * 10000) / 100, frames: frames - f0, chunks: chunks - c0,
    };
    if (o.print) {
      console.log(`tap-feed  ${o.taps} taps ${audio ? 'with' : 'without'} audio, ${w.seconds} s: taps ${tapsCores} cores, feed ${feedCores}, ` +
        `${r.perTapPercent}% of a core per tap; machine ${w.machineBusy} of ${w.cores} busy; ${r.frames} frames, ${r.chunks} audio chunks`);
    }
    return r;
  } finally {
    sampler.stop();
    await Promise.all(taps.map((t) => t.stop()));
    replay.close();
  }
}

/**
 * Runs the taps with audio, then without (see the module comment).
 * @throws Error when the clip cannot be built (ffmpeg missing or failing).
 */
export async function benchTapFeed(opts: BenchTapFeedOptions = {}): Promise<{ withAudio: TapFeedRun; withoutAudio: TapFeedRun; audioPercentPerTap: number }> {
  const o = { taps: opts.taps ?? 30, seconds: opts.seconds ?? 30, print: opts.print ?? true };
  const clip = await clipTags(opts.mediaDir ?? join(tmpdir(), 'warden-media'));
  const withAudio = await run(clip, o, true);
  const withoutAudio = await run(clip, o, false);
  const audioPercentPerTap = Math.round((withAudio.perTapPercent - withoutAudio.perTapPercent) * 100) / 100;
  if (o.print) console.log(`tap-feed  the audio tap: ${audioPercentPerTap}% of a core per tap`);
  return { withAudio, withoutAudio, audioPercentPerTap };
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { taps: { type: 'string' }, seconds: { type: 'string' } } });
  const taps = values.taps === undefined ? undefined : Number(values.taps);
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if ((taps !== undefined && !(Number.isInteger(taps) && taps > 0)) || (seconds !== undefined && !(seconds > 0))) {
    console.error('usage: npx tsx bench/tap-feed.ts [--taps N (a whole number > 0)] [--seconds S (> 0)]');
    process.exit(2);
  }
  console.log(JSON.stringify(await benchTapFeed({ taps, seconds })));
  process.exit(0);
}
