/**
 * Cuts a live PCM stream (16 kHz mono signed 16-bit little-endian, as ffmpeg writes it to a pipe) into
 * overlapping fixed-length chunks for transcription, and tags each chunk with a cheap energy-based
 * speech/silence verdict so silent chunks need not be transcribed. Pipe reads have arbitrary lengths and may
 * split a sample between two buffers; the chunker joins them.
 */
import { endianness } from 'node:os';

/** Level floor in dBFS, used instead of -Infinity for digital silence (keeps the values JSON-friendly). */
export const FLOOR_DBFS = -120;

const FULL_SCALE = 32768;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Energy-based activity of a stretch of PCM. */
export interface SpeechActivity {
  /** True when at least `minVoicedMs` (and more than 0 ms) of frames are above the threshold. */
  speech: boolean;
  /** Total length in ms of the analysis frames whose RMS level is above the threshold. */
  voicedMs: number;
  /** RMS level of the whole stretch in dBFS (full scale = 32768), at least {@link FLOOR_DBFS}. */
  rmsDbfs: number;
  /** Level of the largest absolute sample in dBFS (full scale = 32768), at least {@link FLOOR_DBFS}. */
  peakDbfs: number;
}

/** Options of {@link detectSpeech}. */
export interface SpeechDetectOptions {
  /** Samples per second (default 16000). */
  sampleRate?: number;
  /** Analysis frame length in ms (default 30); a last, shorter frame counts with its own length. */
  frameMs?: number;
  /** A frame whose RMS level in dBFS is above this is voiced (default -45). */
  thresholdDbfs?: number;
  /** Voiced ms needed for `speech` (default 300). */
  minVoicedMs?: number;
}

function toDbfs(amplitude: number): number {
  return amplitude > 0 ? Math.max(FLOOR_DBFS, 20 * Math.log10(amplitude / FULL_SCALE)) : FLOOR_DBFS;
}

/**
 * Cheap voice-activity gate: splits `pcm` into `frameMs` frames, measures each frame's RMS level and counts
 * frames above `thresholdDbfs` as voiced. It is an energy gate, not a speech/music classifier — a tone, music
 * or loud noise counts as "speech". Its job is to skip transcribing silence, so it errs on the side of speech.
 * Allocation-light: reads through an Int16Array view when the Buffer's byteOffset is even (and the host is
 * little-endian), otherwise with `readInt16LE`; accumulates in plain numbers.
 * @param pcm signed 16-bit little-endian mono samples; any byteOffset; a trailing odd byte is ignored.
 */
export function detectSpeech(pcm: Buffer, opts: SpeechDetectOptions = {}): SpeechActivity {
  const sampleRate = opts.sampleRate ?? 16_000;
  const frameSamples = Math.max(1, Math.round(((opts.frameMs ?? 30) * sampleRate) / 1000));
  const threshold = (10 ** ((opts.thresholdDbfs ?? -45) / 20) * FULL_SCALE) ** 2; // mean square of a frame at the threshold
  const minVoicedMs = opts.minVoicedMs ?? 300;
  const n = pcm.length >> 1;
  const view = LITTLE_ENDIAN_HOST && pcm.byteOffset % 2 === 0 ? new Int16Array(pcm.buffer, pcm.byteOffset, n) : undefined;

  let total = 0;
  let peak = 0;
  let voicedSamples = 0;
  for (let start = 0; start < n; start += frameSamples) {
    const end = Math.min(n, start + frameSamples);
    let frame = 0;
    for (let i = start; i < end; i++) {
      const s = view ? view[i]! : pcm.readInt16LE(i * 2);
      frame += s * s;
      const a = s < 0 ? -s : s;
      if (a > peak) peak = a;
    }
    total += frame;
    if (frame / (end - start) > threshold) voicedSamples += end - start;
  }
  const voicedMs = (voicedSamples / sampleRate) * 1000;
  return {
    speech: voicedMs > 0 && voicedMs >= minVoicedMs,
    voicedMs,
    rmsDbfs: n > 0 ? toDbfs(Math.sqrt(total / n)) : FLOOR_DBFS,
    peakDbfs: toDbfs(peak),
  };
}

/** One chunk of audio cut by {@link AudioChunker}. */
export interface AudioChunk {
  /** 0, 1, 2, … over the chunker's lifetime (also across discontinuities). */
  seq: number;
  /** Signed 16-bit little-endian mono samples; a fresh copy owned by the receiver (byteOffset 0). */
  pcm: Buffer;
  /**
   * Wall-clock time of the first sample: the run's start plus the chunk's offset in it. A live stream cannot
   * deliver audio before it is produced, so the run started no later than `now() - ms received` at any push;
   * the smallest such value so far is the estimate (a burst of buffered audio does not skew it, and chunk
   * times are spaced exactly by the audio between them).
   */
  startedAt: Date;
  /** Length of `pcm` in whole ms (samples / sampleRate × 1000, rounded). */
  durationMs: number;
  /** How many ms at the start repeat the end of the previous chunk: 0 for the first chunk of a run. */
  overlapMs: number;
  /** Energy-based activity of the whole chunk (see {@link detectSpeech}). */
  activity: SpeechActivity;
}

/** Options of {@link AudioChunker}. */
export interface AudioChunkerOptions {
  /** Samples per second (default 16000). */
  sampleRate?: number;
  /** Chunk length in ms (default 10000); must be > 0. */
  chunkMs?: number;
  /** How much of each chunk repeats the end of the previous one, in ms (default 2000); 0 ≤ overlapMs < chunkMs / 2. */
  overlapMs?: number;
  /** Least new (not yet emitted) audio in ms for flush() to emit a tail chunk (default 250). */
  minTailMs?: number;
  /** Wall clock in ms since the epoch (default Date.now). */
  now?: () => number;
  /** Options of the speech detector (its sampleRate defaults to the chunker's). */
  speech?: SpeechDetectOptions;
}

/**
 * Cuts a contiguous PCM stream into chunks of `chunkMs`, each starting `overlapMs` before the previous one
 * ended (step = chunkMs - overlapMs). Bytes are held in one buffer that is compacted (and grown only when a
 * single push is larger than its free space), so pushes cost a copy of their own bytes, not of what is held.
 * A run ends with {@link flush} / {@link discontinuity}; the next push starts a new run without overlap.
 */
export class AudioChunker {
  private readonly sampleRate: number;
  private readonly chunkSamples: number;
  private readonly overlapSamples: number;
  private readonly minTailSamples: number;
  private readonly now: () => number;
  private readonly speech: SpeechDetectOptions;
  private buf: Buffer;
  /** Bytes held in `buf` (may be odd: half a sample waits for the next push). */
  private len = 0;
  /** Run sample index of `buf[0]`. */
  private base = 0;
  /** Run sample index where the next chunk starts. */
  private nextStart = 0;
  /** Run sample index where the last emitted chunk of this run ended (0 before the first). */
  private emittedEnd = 0;
  private seq = 0;
  private receivedBytes = 0;
  /** Bytes received in this run, and the estimate of its wall-clock start (ms since the epoch). */
  private runBytes = 0;
  private runStartedAt = Infinity;

  constructor(opts: AudioChunkerOptions = {}) {
    this.sampleRate = opts.sampleRate ?? 16_000;
    const chunkMs = opts.chunkMs ?? 10_000;
    const overlapMs = opts.overlapMs ?? 2_000;
    const minTailMs = opts.minTailMs ?? 250;
    if (!(this.sampleRate > 0) || !Number.isFinite(this.sampleRate)) throw new RangeError(`sampleRate must be > 0, got ${this.sampleRate}`);
    if (!(chunkMs > 0) || !Number.isFinite(chunkMs)) throw new RangeError(`chunkMs must be > 0, got ${chunkMs}`);
    if (!(overlapMs >= 0) || !(overlapMs < chunkMs / 2)) throw new RangeError(`overlapMs must be >= 0 and < chunkMs / 2 (${chunkMs / 2}), got ${overlapMs}`);
    if (!(minTailMs >= 0)) throw new RangeError(`minTailMs must be >= 0, got ${minTailMs}`);
    this.chunkSamples = Math.max(1, Math.round((chunkMs * this.sampleRate) / 1000));
    this.overlapSamples = Math.min(this.chunkSamples - 1, Math.round((overlapMs * this.sampleRate) / 1000));
    this.minTailSamples = Math.max(1, Math.ceil((minTailMs * this.sampleRate) / 1000));
    this.now = opts.now ?? Date.now;
    this.speech = { sampleRate: this.sampleRate, ...opts.speech };
    this.buf = Buffer.allocUnsafeSlow(this.chunkSamples * 4);
  }

  /** Chunks emitted over the lifetime, and ms of audio received over the lifetime. */
  get stats(): { chunks: number; receivedMs: number } {
    return { chunks: this.seq, receivedMs: this.msOf(Math.floor(this.receivedBytes / 2)) };
  }

  /** Appends PCM bytes (any length, any alignment) and returns the chunks completed by them, usually none. */
  push(data: Buffer): AudioChunk[] {
    if (data.length === 0) return [];
    this.receivedBytes += data.length;
    this.runBytes += data.length;
    this.runStartedAt = Math.min(this.runStartedAt, this.now() - this.msOf(this.runBytes >> 1));
    this.reserve(data.length);
    data.copy(this.buf, this.len);
    this.len += data.length;
    const out: AudioChunk[] = [];
    while (this.heldEnd() - this.nextStart >= this.chunkSamples) {
      out.push(this.emit(this.nextStart + this.chunkSamples));
      this.nextStart += this.chunkSamples - this.overlapSamples;
    }
    return out;
  }

  /**
   * Ends the current run. Returns a last, shorter chunk when at least `minTailMs` of new audio (not in an
   * emitted chunk) is held; like any chunk it starts with the overlap from the previous chunk of the run.
   * Less new audio (and an unpaired trailing byte) is dropped. The next push starts a new run.
   */
  flush(): AudioChunk | undefined {
    const end = this.heldEnd();
    const tail = end - this.emittedEnd >= this.minTailSamples ? this.emit(end) : undefined;
    this.len = 0;
    this.base = 0;
    this.nextStart = 0;
    this.emittedEnd = 0;
    this.runBytes = 0;
    this.runStartedAt = Infinity;
    return tail;
  }

  /** The input restarted (e.g. ffmpeg was respawned): same as {@link flush}. */
  discontinuity(): AudioChunk | undefined {
    return this.flush();
  }

  /** Run sample index just past the last whole sample held. */
  private heldEnd(): number {
    return this.base + (this.len >> 1);
  }

  private msOf(samples: number): number {
    return (samples / this.sampleRate) * 1000;
  }

  /** Makes room for `extra` more bytes: drops what no chunk needs any more, grows only if still short. */
  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const drop = (this.nextStart - this.base) * 2;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.base = this.nextStart;
    }
    if (this.len + extra > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.len + extra));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
  }

  /** Emits samples [nextStart, end) of the run as a chunk. */
  private emit(end: number): AudioChunk {
    const start = this.nextStart;
    const from = (start - this.base) * 2;
    const pcm = Buffer.allocUnsafeSlow((end - start) * 2);
    this.buf.copy(pcm, 0, from, from + pcm.length);
    const overlap = Math.max(0, this.emittedEnd - start);
    this.emittedEnd = end;
    return {
      seq: this.seq++,
      pcm,
      startedAt: new Date(Math.round(this.runStartedAt + this.msOf(start))),
      durationMs: Math.round(this.msOf(end - start)),
      overlapMs: Math.round(this.msOf(overlap)),
      activity: detectSpeech(pcm, this.speech),
    };
  }
}
