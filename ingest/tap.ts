/**
 * The tap: one ffmpeg process per live broadcast that reads the stream back and emits sampled frames as
 * JPEG, at most one per sampling interval, scaled for the models.
 *
 * By default ffmpeg decodes keyframes only (`-skip_frame nokey`): demuxing is nearly free and a keyframe
 * every 2 s is one decode in 60, which is what lets one machine watch hundreds of streams. When a
 * stream's keyframes are further apart than the sampling interval, the tap restarts ffmpeg decoding every
 * frame and keeping one per interval ('interval' mode) and says so through `onModeChange`.
 *
 * With `audio` set, a further output turns the first audio track into 16 kHz mono PCM on fd 4, cut into
 * overlapping chunks (ingest/tap-audio.ts). A stream without audio makes ffmpeg refuse that output; the tap
 * then runs on without it (`audioMissing`).
 *
 * Keyframe spacing is measured in stream time, not wall-clock time: in keyframes mode ffmpeg has a second,
 * nearly free output, `-c:v copy -f framecrc` on fd 3, which lists every video packet's timestamps and
 * whether it is a keyframe, as the demuxer sees them. Network stalls therefore never look like sparse
 * keyframes, and the decision comes as soon as the packets arrive, not when the decoder gets round to them.
 *
 * Latency (ffmpeg 4.1's h264 decoder): with `-skip_frame nokey` a keyframe is output only after as many
 * further *decoded* pictures as the stream's reorder depth (VUI num_reorder_frames: 0 without B-frames,
 * 1 with B-frames, 2 with x264's default B-pyramid). The skipped frames do not count, so each keyframe
 * arrives that many keyframe intervals late: 4 s behind live for a 2 s GOP with B-pyramid. No ffmpeg 4.1
 * option (`-flags low_delay`, `-strict`) changes that. Fed in-process, an H.264 stream's configuration is
 * rewritten to say nothing is reordered (ingest/h264-sps.ts: true of keyframes alone), so each keyframe comes
 * out as soon as it is decoded, and the feed leaves out, before decoding, the keyframes that will not be
 * sampled (ingest/tap-feed.ts). Read back over RTMP, and in interval mode (which decodes every frame and is
 * only a couple of frames behind), ffmpeg samples after decoding as before.
 */
import type { ChildLike } from '../core/remote-child.ts';
import type { Logger } from 'pino';
import { ffmpegPath, forEachLine } from './ffmpeg.ts';
import { IN_PROCESS } from '../core/commands.ts';
import { FramecrcParser, JpegSplitter, type PacketTime, type SplitJpeg } from './tap-parsers.ts';
import { NO_AUDIO_STREAM, TapAudio, type TapAudioOptions } from './tap-audio.ts';
import { buildTapArgs, redactInput } from './tap-args.ts';
import { KeyframeFeed, type TapSource } from './tap-feed.ts';
import { FrameThinner } from './thinner.ts';
import type { TapExitInfo, TapMode, TapOptions } from './tap-types.ts';
import { KeyframeSpacing } from './keyframe-spacing.ts';
import { FrameQueue } from './frame-queue.ts';

export { buildTapArgs, redactInput, type TapArgsOptions } from './tap-args.ts';
export { classifyTag, KeyframeFeed, type FeedDecision, type TapSource, type TagVerdict } from './tap-feed.ts';

export { type AudioChunk, type TapAudioOptions } from './tap-audio.ts';
export { FramecrcParser, JpegSplitter, type PacketTime, type SplitJpeg } from './tap-parsers.ts';
export type { TapExitInfo, TapFrame, TapMode, TapOptions } from './tap-types.ts';

/** The in-process feed leaves tags out while ffmpeg's stdin holds more than this many unwritten bytes. */
const FEED_MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
/**
 * The in-process feed writes the tags it gathered at once: a video keyframe at once (with what came before it), other
 * video frames (interval mode) within this long, and audio and metadata within {@link FEED_AUDIO_FLUSH_MS}.
 */
const FEED_FLUSH_MS = 50;
/** How long audio (and metadata) tags may wait in the feed for company: a second of AAC is about 47 tags. */
const FEED_AUDIO_FLUSH_MS = 1000;
/** A run counts as a quick failure when ffmpeg lived less than this. */
const QUICK_FAILURE_MS = 30_000;
/** Backoff ceiling between restarts. */
const MAX_RESTART_DELAY_MS = 10_000;
/** stop() and mode switches send SIGTERM, then SIGKILL after this long. */
const KILL_GRACE_MS = 2_000;
/** stop() of a fed tap: how long ffmpeg may take to finish what it was given (stdin at its end) before SIGTERM. */
const FEED_END_GRACE_MS = 1_000;

/**
 * Samples frames from one live broadcast with one ffmpeg child (see the module docs). Create it, call
 * {@link StreamTap.start} once, and {@link StreamTap.stop} when the broadcast ends. ffmpeg exiting while
 * the tap runs (crash, kill, end of input) restarts it after `restartDelayMs`, backing off after quick
 * failures and giving up (onExit with reason 'gave-up') after `maxQuickFailures` in a row. Once in
 * 'interval' mode the tap stays there until it is stopped.
 */
export class StreamTap {
  private readonly opts: Required<Omit<TapOptions, 'onModeChange' | 'onExit' | 'realtime' | 'mode' | 'audio' | 'nice' | 'onShed' | 'source' | 'spawner'>> &
    Pick<TapOptions, 'onModeChange' | 'onExit' | 'realtime' | 'nice' | 'onShed' | 'source' | 'spawner'>;
  /** Stops the in-process feed of the current ffmpeg run (with a `source`). */
  private closeFeed: (() => void) | undefined;
  /** Writes what the in-process feed has gathered for the current ffmpeg run (with a `source`). */
  private flushFeed: (() => void) | undefined;
  /** The current run's feed filter (with a `source`): sampling before decoding, for H.264 in keyframes mode. */
  private feedFilter: KeyframeFeed | undefined;
  /** Feed bytes not written because ffmpeg's stdin was too far behind (with a `source`). */
  private _feedDropped = 0;
  private _keyframesFed = 0;
  private readonly audio: TapAudio | undefined;
  private _audioMissing = false;
  private readonly log: Logger;
  private _mode: TapMode;
  private _restarts = 0;
  private started = false;
  private stopped = false;
  private stopPromise: Promise<void> | undefined;
  private child: ChildLike | undefined;
  private childClosed: Promise<{ code: number | null; signal: string | null }> | undefined;
  private lastExit: { code: number | null; signal: string | null } = { code: null, signal: null };
  private restartTimer: NodeJS.Timeout | undefined;
  private quickFailures = 0;
  private switching = false;
  private announcedFirst = false;
  private exitReported = false;
  // Per run: spawn time; the keyframe-spacing watch (keyframes mode)
  private runStartedAt = 0;
  private spacing: KeyframeSpacing | undefined;
  private readonly frames: FrameQueue;
  // Adaptive sampling: the interval in force (≥ the base one ffmpeg samples at), frames left out for it
  private readonly thinner: FrameThinner;
  private _framesThinned = 0;

  /** @throws Error when sampleIntervalMs or maxHeight is not a positive number. */
  constructor(opts: TapOptions) {
    const sampleIntervalMs = opts.sampleIntervalMs ?? 2000;
    const maxHeight = opts.maxHeight ?? 480;
    if (!(sampleIntervalMs > 0)) throw new Error(`StreamTap: sampleIntervalMs must be > 0, got ${sampleIntervalMs}`);
    if (!(maxHeight >= 16)) throw new Error(`StreamTap: maxHeight must be ≥ 16, got ${maxHeight}`);
    this.opts = {
      ...opts,
      sampleIntervalMs,
      maxHeight,
      restartDelayMs: opts.restartDelayMs ?? 1000,
      maxQuickFailures: opts.maxQuickFailures ?? 10,
      maxQueuedFrames: Math.max(1, opts.maxQueuedFrames ?? 2),
    };
    this.log = opts.logger;
    this.thinner = new FrameThinner(sampleIntervalMs);
    this._mode = opts.mode ?? 'keyframes';
    this.audio = opts.audio ? new TapAudio(opts.audio, opts.logger) : undefined;
    this.frames = new FrameQueue({
      max: this.opts.maxQueuedFrames,
      deliver: (f) => this.opts.onFrame(f),
      onDrop: (dropped) => {
        this.callback('onShed', () => this.opts.onShed?.('behind'));
        if (dropped === 1 || dropped % 100 === 0) this.log.warn({ dropped }, 'onFrame slower than the stream: dropping oldest frames');
      },
      onError: (err, seq) => this.log.error({ err, seq }, 'onFrame failed'),
    });
  }

  /** True once ffmpeg reported that the stream has no audio track (the tap then runs without audio). */
  get audioMissing(): boolean {
    return this._audioMissing;
  }

  /** Current decoding mode. */
  get mode(): TapMode {
    return this._mode;
  }
  /** ffmpeg restarts after it died unexpectedly (mode switches are not counted). */
  get restarts(): number {
    return this._restarts;
  }
  /** Frames handed to onFrame so far. */
  get framesEmitted(): number {
    return this.frames.emitted;
  }
  /** Frames dropped because onFrame was too slow. */
  get framesDropped(): number {
    return this.frames.dropped;
  }
  /** Frames left out because the effective interval was stretched (see {@link StreamTap.setSampleInterval}). */
  get framesThinned(): number {
    return this._framesThinned;
  }
  /** The sampling interval in force, ms (the base one unless stretched). */
  get sampleIntervalMs(): number {
    return this.thinner.effectiveMs;
  }

  /**
   * Changes the sampling interval at run time, without restarting ffmpeg: ffmpeg keeps sampling at the base interval
   * (`sampleIntervalMs` of the options, which also decides the keyframes/interval mode), and the tap keeps about one
   * frame per `ms` of those (ingest/thinner.ts). The others are counted in `framesThinned` and reported to
   * `onShed('interval')`. Values under the base interval are raised to it.
   */
  setSampleInterval(ms: number): void {
    const previousMs = this.thinner.effectiveMs;
    if (this.thinner.setInterval(ms)) this.log.debug({ intervalMs: this.thinner.effectiveMs, previousMs }, 'tap sampling interval changed');
    this.feedFilter?.setInterval(this.thinner.effectiveMs);
  }

  /** Whether the current run samples keyframes before decoding them (in-process feed, H.264, keyframes mode). */
  get sampledBeforeDecoding(): boolean {
    return this.feedFilter?.preThinning ?? false;
  }
  /** The current ffmpeg child's pid (undefined between runs); exposed for tests and diagnostics. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns ffmpeg. @throws Error when called twice or after stop(). */
  start(): void {
    if (this.started || this.stopped) throw new Error('StreamTap: start() may be called once, before stop()');
    this.started = true;
    this.log.info(
      { input: redactInput(this.opts.input), mode: this._mode, intervalMs: this.opts.sampleIntervalMs },
      'tap starting',
    );
    this.spawn();
  }

  /**
   * Stops for good: no restart, no further onFrame calls (one already running is not awaited), ffmpeg gets
   * SIGTERM and SIGKILL after 2 s. Resolves when the child has exited; calls onExit once. Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.stopped = true;
    this.frames.close();
    clearTimeout(this.restartTimer);
    this.stopPromise = (async () => {
      const child = this.child;
      if (child && this.flushFeed && child.stdin && !child.stdin.destroyed) {
        // fed from here: the tags still gathered (up to a second of audio) go, then end of input, so ffmpeg decodes
        // and writes out what it was given (what was said just before the end counts too) and exits by itself
        this.flushFeed();
        this.closeFeed?.();
        this.closeFeed = undefined;
        this.flushFeed = undefined;
        child.stdin.end();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.childClosed, new Promise((r) => { timer = setTimeout(r, FEED_END_GRACE_MS); })]);
        clearTimeout(timer);
      }
      if (this.child) await this.killChild(this.child);
      await this.audio?.close();
      this.log.info({ frames: this.frames.emitted, restarts: this._restarts }, 'tap stopped');
      if (this.started) this.reportExit({ ...this.lastExit, restarts: this._restarts, reason: 'stopped' });
    })();
    return this.stopPromise;
  }

  private spawn(): void {
    const source = this.opts.source;
    const args = buildTapArgs({
      input: source ? 'pipe:0' : this.opts.input,
      inputFormat: source ? 'flv' : undefined,
      mode: this._mode,
      sampleIntervalMs: this.opts.sampleIntervalMs,
      maxHeight: this.opts.maxHeight,
      realtime: this.opts.realtime,
      // fed from here, the packet timing comes from the tags themselves
      packetTimes: !source,
      audio: this.audio !== undefined && !this._audioMissing,
    });
    // a serving process passes the spawn helper: a spawn here would block its event loop (core/commands.ts)
    const child = (this.opts.spawner ?? IN_PROCESS).spawn(ffmpegPath(), args, { pipes: [Boolean(source), true, true, true, true], nice: this.opts.nice });
    this.child = child;
    this.runStartedAt = Date.now();
    this.spacing = new KeyframeSpacing(this.opts.sampleIntervalMs);
    const packetPipe = child.stdio[3] as NodeJS.ReadableStream | null | undefined;
    if (packetPipe) {
      const parser = new FramecrcParser();
      forEachLine(packetPipe, (line) => {
        const p = parser.line(line);
        if (p && this.child === child) this.onPacket(p);
      });
    }
    if (source && child.stdin) this.feed(child, source);
    const audioPipe = child.stdio[4] as NodeJS.ReadableStream | null | undefined;
    if (this.audio && !this._audioMissing && audioPipe) this.audio.attach(audioPipe);
    const splitter = new JpegSplitter();
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const img of splitter.push(chunk)) this.onImage(img);
    });
    const secret = this.opts.input;
    const shown = redactInput(secret);
    if (child.stderr) {
      forEachLine(child.stderr, (line) => {
        if (this.audio && !this._audioMissing && NO_AUDIO_STREAM.test(line)) {
          // not a failure: the stream has no audio track; run again without the audio output
          this._audioMissing = true;
          this.switching = true;
          this.log.info('stream has no audio track: tapping video only');
          return;
        }
        this.log.warn({ ffmpeg: line.split(secret).join(shown) }, 'ffmpeg');
      });
    }
    this.childClosed = new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: string | null): void => {
        if (done) return;
        done = true;
        resolve({ code, signal });
        this.onChildGone(child, code, signal);
      };
      child.once('error', (err: Error) => {
        this.log.error({ err }, 'ffmpeg could not be spawned');
        // 'close' normally follows; if stdio never opened it may not, so finish here too.
        setTimeout(() => finish(null, null), 100);
      });
      child.once('close', (code: number | null, signal: string | null) => finish(code, signal));
    });
  }

  /**
   * Writes the broadcast's FLV tags to this ffmpeg run's stdin (only what the mode needs) and reads the video packets'
   * timing from them. Tags are gathered and written together (one writev), in their order: a video keyframe goes at
   * once with everything gathered before it, other video frames within {@link FEED_FLUSH_MS}, audio and metadata
   * within {@link FEED_AUDIO_FLUSH_MS}. A tag at a time costs a system call and an ffmpeg wake-up per audio frame,
   * about fifty a second per broadcast; in keyframes mode a broadcast now wakes its ffmpeg about once a second for its
   * audio and once per sampled keyframe, and a keyframe reaches ffmpeg no later than before. When ffmpeg falls more
   * than {@link FEED_MAX_BACKLOG_BYTES} behind, a batch is left out (counted) until it catches up; ffmpeg's FLV demuxer
   * reads on from the next whole tag. {@link StreamTap.stop} writes what is still gathered before ffmpeg is stopped.
   */
  private feed(child: ChildLike, source: TapSource): void {
    const stdin = child.stdin!;
    stdin.on('error', () => {}); // ffmpeg gone: its 'close' ends the run
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let timer: NodeJS.Timeout | undefined;
    /** When the gathered batch is due (ms since the epoch; Infinity: nothing gathered). */
    let dueAt = Number.POSITIVE_INFINITY;
    const filter = new KeyframeFeed(this._mode, this.opts.sampleIntervalMs, this.thinner.effectiveMs);
    this.feedFilter = filter;
    let noted = false;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      dueAt = Number.POSITIVE_INFINITY;
      const tags = batch;
      batch = [];
      const bytes = batchBytes;
      batchBytes = 0;
      if (this.child !== child || stdin.destroyed || tags.length === 0) return;
      if (stdin.writableLength > FEED_MAX_BACKLOG_BYTES) {
        this._feedDropped += bytes;
        return;
      }
      stdin.cork();
      for (const t of tags) stdin.write(t);
      stdin.uncork();
    };
    try {
      const close = source.open((data) => {
        if (this.child !== child || stdin.destroyed) return;
        const v = filter.push(data);
        if (v.packet) this.onPacket(v.packet);
        if (v.thinned) {
          this._framesThinned++;
          this.callback('onShed', () => this.opts.onShed?.('interval'));
        }
        if (filter.note && !noted) {
          noted = true;
          this.log.warn({ note: filter.note }, 'tap samples after decoding');
        }
        if (!v.out) return;
        batch.push(v.out);
        batchBytes += v.out.length;
        if (v.packet?.key) {
          this._keyframesFed++;
          flush();
          return;
        }
        const due = Date.now() + (v.packet ? FEED_FLUSH_MS : FEED_AUDIO_FLUSH_MS);
        if (due >= dueAt) return;
        dueAt = due;
        clearTimeout(timer);
        timer = setTimeout(flush, due - Date.now());
      });
      this.flushFeed = flush;
      this.closeFeed = () => {
        clearTimeout(timer);
        batch = [];
        close();
      };
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'tap feed could not open: the broadcast is not live here');
      stdin.end();
    }
  }

  /** Video keyframes the in-process feed wrote to ffmpeg (each one decoded), over the tap's life. */
  get keyframesFed(): number {
    return this._keyframesFed;
  }

  /** Bytes of the in-process feed left out because ffmpeg was too far behind. */
  get feedDropped(): number {
    return this._feedDropped;
  }

  private onImage(img: SplitJpeg): void {
    if (this.stopped) return;
    const now = Date.now();
    if (!this.announcedFirst) {
      this.announcedFirst = true;
      this.callback('onModeChange', () =>
        this.opts.onModeChange?.(
        this._mode,
        this._mode === 'keyframes'
          ? this.feedFilter?.preThinning
            ? 'decoding only the keyframes sampled, at most one per sampling interval, each as it arrives'
            : 'decoding keyframes only, keeping at most one per sampling interval'
          : 'decoding all frames, keeping one per interval',
        ),
      );
    }
    // frames the feed sampled before decoding were thinned there, by stream time
    if (!this.feedFilter?.preThinning && !this.thinner.keep(now)) {
      this._framesThinned++;
      this.callback('onShed', () => this.opts.onShed?.('interval'));
      return;
    }
    this.frames.push({ ...img, capturedAt: new Date(now) });
  }

  /** Keyframes mode: falls back to interval mode when keyframes are too sparse for the interval (ingest/keyframe-spacing.ts). */
  private onPacket(p: PacketTime): void {
    if (this.stopped || this.switching || this._mode !== 'keyframes') return;
    const why = this.spacing?.observe(p);
    if (why) this.switchToInterval(why);
  }

  private switchToInterval(why: string): void {
    const note = `${why} > ${(this.opts.sampleIntervalMs / 1000).toFixed(1)} s sampling interval: decoding all frames, keeping one per interval`;
    this.log.warn({ note }, 'tap falling back to interval sampling');
    this._mode = 'interval';
    this.switching = true;
    this.announcedFirst = true;
    this.callback('onModeChange', () => this.opts.onModeChange?.('interval', note));
    if (this.child) void this.killChild(this.child);
  }

  private reportExit(info: TapExitInfo): void {
    if (this.exitReported) return;
    this.exitReported = true;
    this.callback('onExit', () => this.opts.onExit?.(info));
  }

  /** Runs a consumer callback; a throw is logged, never allowed to break the tap. */
  private callback(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, `${name} threw`);
    }
  }

  private async killChild(child: ChildLike): Promise<void> {
    const closed = this.child === child ? this.childClosed : undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, KILL_GRACE_MS);
    await closed;
    clearTimeout(timer);
  }

  private onChildGone(child: ChildLike, code: number | null, signal: string | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.closeFeed?.();
    this.closeFeed = undefined;
    this.flushFeed = undefined;
    this.feedFilter = undefined;
    this.lastExit = { code, signal };
    this.audio?.runEnded();
    if (this.stopped) return;
    if (this.switching) {
      this.switching = false;
      this.spawn();
      return;
    }
    const ranMs = Date.now() - this.runStartedAt;
    this.quickFailures = ranMs < QUICK_FAILURE_MS ? this.quickFailures + 1 : 1;
    if (this.quickFailures >= this.opts.maxQuickFailures) {
      this.log.error({ code, signal, restarts: this._restarts }, 'ffmpeg keeps failing: tap gives up');
      this.stopped = true;
      this.reportExit({ code, signal, restarts: this._restarts, reason: 'gave-up' });
      return;
    }
    const delay = Math.min(this.opts.restartDelayMs * 2 ** (this.quickFailures - 1), MAX_RESTART_DELAY_MS);
    this.log.warn({ code, signal, ranMs, delayMs: delay }, 'ffmpeg exited: restarting');
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this._restarts++;
      this.spawn();
    }, delay);
  }
}
