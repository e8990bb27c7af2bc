/**
 * Adaptive sampling: how an ingest node degrades deliberately when the analyzer falls behind, instead of letting the
 * queues grow without bound.
 *
 * Every SAMPLING_CONTROL_S (2 s) the controller reads the `frames` and `audio` queues' backlog (waiting jobs and the
 * age of the oldest one; shared by every node, analyzer/jobs.ts `Queues.backlog`) and which of this node's broadcasts
 * deserve priority, and then:
 *
 * - **frames**: moves a stretch factor `s` (1 … R², R = SAMPLE_INTERVAL_MAX_S / SAMPLE_INTERVAL_S) up by half when the
 *   oldest waiting frame job is older than FRAMES_BACKLOG_HIGH_S and the backlog is not already draining, and down by
 *   a sixth when it is younger than FRAMES_BACKLOG_LOW_S (multiplicative both ways, so several ingest nodes sharing
 *   the analyzer settle like TCP flows). A broadcast without priority is sampled every `base × min(s, R)`; one with
 *   priority keeps the base interval until every other broadcast is at the maximum, then every
 *   `base × clamp(s / R, 1, R)`. The tap applies the interval at once (ingest/tap.ts `setSampleInterval`).
 * - **last resort**: when every broadcast is already at SAMPLE_INTERVAL_MAX_S and the oldest waiting frame is still
 *   older than 4 × FRAMES_BACKLOG_HIGH_S, the frames of broadcasts without priority are recorded as `skipped` (with
 *   the reason) instead of queued, until it is younger than FRAMES_BACKLOG_HIGH_S: the queue stays bounded even when
 *   the analyzer gets almost no CPU. Duplicates still count (they carry their original's scores).
 * - **priority**: a broadcast whose performer has an open case above `low` (a rule's review, a panic alert, viewers'
 *   reports) or whose samples scored at a rule's threshold within PRIORITY_WINDOW_S is `urgent`: its frames and
 *   audio chunks skip ahead in the queues (BullMQ priority, analyzer/jobs.ts `SAMPLE_PRIORITY`) and keep the base
 *   interval longest (when every broadcast is urgent, the stretch skips the range that would only stretch the others).
 * - **audio**: transcription is far costlier than a frame (PocketSphinx ≈ 0.4–0.6 CPU-seconds per second of audio), so
 *   only `slots` broadcasts have their speech transcribed at a time: urgent ones first, then the others in turn (the
 *   one whose chunk was taken least recently first). Slots halve (at least one fewer, never under one) when the oldest waiting audio
 *   job is older than AUDIO_BACKLOG_HIGH_S and not draining, and grow by one once it is younger than
 *   AUDIO_BACKLOG_LOW_S (fewer at most every 5 s, more every 10 s at the defaults: a chunk takes seconds). A chunk of a broadcast without a
 *   slot is recorded as `skipped` with the reason (ingest/service.ts), not transcribed.
 * - panic alerts and chat verdicts never go through these queues: nothing here touches them.
 *
 * Decisions are logged (structured, at most one line per kind per 10 s) and told to the broadcast (its tap note), so a
 * moderator sees that sampling was reduced; /metrics shows the intervals, the stretch and the audio slots.
 */
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { errorText } from '../core/errors.ts';
import { highScoresSince, openCasePriorities, type Db, type Priority, type ScoreThreshold } from '../db/index.ts';
import { SAMPLE_PRIORITY, type QueueBacklog, type Queues, type SamplePriority } from '../analyzer/jobs.ts';
import type { Policy } from '../rules/index.ts';

/** What the controller drives on one live broadcast (the ingest service wires it to the tap and the broadcast row). */
export interface SampledBroadcast {
  broadcastId: string;
  /** The performer. */
  userId: string;
  /** Applies an effective frame sampling interval (ms, ≥ the base interval) to the broadcast's tap. */
  setIntervalMs(ms: number): void;
  /** Tells the broadcast what degradation applies now (shown with its tap note); null: none. */
  setDegradationNote(note: string | null): void;
}

/** One broadcast as the controller sees it (tests and diagnostics). */
export interface SamplingState {
  broadcastId: string;
  priority: SamplePriority;
  /** Why it has priority (`open high case`, `score 0.93 on nsfw/Porn`), or null. */
  reason: string | null;
  intervalMs: number;
  /** Whether its speech is transcribed now. */
  audio: boolean;
}

export interface SamplingControllerDeps {
  queues: Pick<Queues, 'backlog'>;
  db: Db;
  config: Pick<Config, 'tap' | 'degrade'>;
  metrics: Metrics;
  logger: Logger;
  /** The policy in force: its rules' thresholds make a score "high". Without it only open cases give priority. */
  policy?: () => Policy;
}

/** Largest stretch for a base and maximum interval: R² (R for the broadcasts without priority, R more for the others). */
export function maxStretch(baseMs: number, maxMs: number): number {
  const r = Math.max(1, maxMs / baseMs);
  return r * r;
}

/**
 * The effective sampling interval (ms) of a broadcast under stretch `s`: without priority `base × min(s, R)`; with
 * priority the base interval until `s` passes R, then `base × clamp(s / R, 1, R)`. Rounded to 100 ms.
 */
export function intervalFor(priority: SamplePriority, stretch: number, baseMs: number, maxMs: number): number {
  const r = Math.max(1, maxMs / baseMs);
  const f = priority === 'urgent' ? Math.min(r, Math.max(1, stretch / r)) : Math.min(r, Math.max(1, stretch));
  return Math.min(maxMs, Math.round((baseMs * f) / 100) * 100);
}

/** The frames-side control step's inputs. */
export interface StretchInput {
  stretch: number;
  backlog: QueueBacklog;
  /** Waiting jobs at the previous reading (to tell a backlog that is already draining). */
  previousWaiting: number | null;
  highMs: number;
  lowMs: number;
  maxStretch: number;
}

/**
 * One control step of the stretch: ×1.5 when the oldest waiting job is older than `highMs` and the backlog did not
 * shrink by a quarter since the last reading; when the oldest is younger than `lowMs`, ÷1.5 if nothing waits at all
 * at this reading and the last (the analyzer has idle time: a burst, such as many broadcasts starting at once, is
 * over) and ÷1.2 otherwise; unchanged in between. Within [1, max].
 */
export function nextStretch(i: StretchInput): number {
  const { stretch, backlog } = i;
  if (backlog.oldestAgeMs > i.highMs) {
    const draining = i.previousWaiting !== null && backlog.waiting < i.previousWaiting * 0.75;
    return draining ? stretch : Math.min(i.maxStretch, stretch * 1.5);
  }
  if (backlog.oldestAgeMs < i.lowMs) return Math.max(1, stretch / (backlog.waiting === 0 && i.previousWaiting === 0 ? 1.5 : 1.2));
  return stretch;
}

/**
 * The stretch after a step when no broadcast is without priority: stretches up to R would only stretch broadcasts
 * without priority, so with none there an increase goes straight to where urgent ones stretch (1.5 × R: their
 * interval × 1.5, as the first step does for the others); otherwise the step's own value.
 */
export function skipIdleStretch(before: number, next: number, anyNormal: boolean, baseMs: number, maxMs: number): number {
  const r = Math.max(1, maxMs / baseMs);
  if (anyNormal || next <= before || r <= 1 || next >= r * 1.5) return next;
  return Math.min(maxStretch(baseMs, maxMs), r * 1.5);
}

/**
 * One control step of the audio slots: halved (at least one fewer, never under one: the most urgent broadcast is always
 * transcribed, its backlog bounded by the transcriber's stale-chunk limit when it has no priority) when the oldest
 * waiting chunk is older than `highMs` and the backlog did not shrink since the last step; one more (up to `streams`)
 * when it is younger than `lowMs`; unchanged otherwise.
 */
export function nextAudioSlots(slots: number, streams: number, backlog: QueueBacklog, previousWaiting: number | null, highMs: number, lowMs: number): number {
  const current = Math.min(slots, streams);
  if (backlog.oldestAgeMs > highMs) {
    const draining = previousWaiting !== null && backlog.waiting < previousWaiting;
    return draining ? current : Math.max(Math.min(1, streams), Math.min(current - 1, Math.floor(current / 2)));
  }
  if (backlog.oldestAgeMs < lowMs) return Math.min(streams, slots + 1);
  return current;
}

/**
 * Label thresholds that make a score "high": for every enforced rule that can do more than open a low-priority case,
 * each of its labels at its minimum score (the lowest over rules when several watch one label).
 */
export function scoreThresholds(policy: Policy): ScoreThreshold[] {
  const min = new Map<string, ScoreThreshold>();
  for (const rule of policy.rules) {
    if (rule.mode !== 'enforce') continue;
    if (rule.actions.every((a) => a.type === 'review' && a.priority === 'low')) continue;
    for (const label of rule.when.labels) {
      const k = `${rule.when.analyzer}\u0000${label}`;
      const cur = min.get(k);
      if (!cur || rule.when.minScore < cur.minScore) min.set(k, { analyzer: rule.when.analyzer, label, minScore: rule.when.minScore });
    }
  }
  return [...min.values()];
}

interface Stream {
  b: SampledBroadcast;
  registeredAt: number;
  /** The performer's most urgent open case (above low), if any. */
  casePriority: Priority | null;
  /** The latest high score (ms) and its value. */
  highScore: { at: number; score: number } | null;
  intervalMs: number;
  audio: boolean;
  /** When a chunk of this broadcast last came in while it held an audio slot (the round robin's order). */
  audioTakenAt: number;
  note: string | null;
}

/** Lines of one kind logged at most this often; the latest suppressed one is logged when the window ends. */
const LOG_EVERY_MS = 10_000;
/**
 * Audio slots shrink at most every quarter AUDIO_BACKLOG_HIGH_S and grow at most every half, within [the control
 * period, 10 s] (5 s and 10 s at the defaults): a chunk takes seconds to transcribe, so the backlog needs time to
 * answer a change, and shrinking is the more urgent.
 */
const MAX_AUDIO_STEP_MS = 10_000;
const CASE_RANK: Record<Priority, number> = { critical: 0, urgent: 1, high: 2, normal: 3, low: 4 };

/** The adaptive sampling controller of one ingest node (see the module docs). `start()` it; `stop()` when done. */
export class SamplingController {
  private readonly streams = new Map<string, Stream>();
  private readonly log: Logger;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private stretch = 1;
  /** Every broadcast's speech is transcribed (no shedding); otherwise `audioSlots` of them. */
  private audioAll = true;
  private audioSlots = 0;
  private framesWaiting: number | null = null;
  private audioWaiting: number | null = null;
  /** Last resort: frames of broadcasts without priority are skipped (see the module docs). */
  private framesShedding = false;
  private audioStepAt = 0;
  private signalWatermark: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastBacklog: { frames: QueueBacklog; audio: QueueBacklog } | null = null;
  private readonly logged = new Map<string, { at: number; pending?: { obj: object; msg: string } }>();

  constructor(private readonly deps: SamplingControllerDeps) {
    this.log = deps.logger.child({ subsystem: 'sampling' });
    this.baseMs = deps.config.tap.sampleIntervalMs;
    this.maxMs = Math.max(this.baseMs, deps.config.degrade.sampleIntervalMaxMs);
    deps.metrics.sources.sampling = () => ({
      intervalsMs: [...this.streams.values()].map((s) => s.intervalMs),
      stretch: this.stretch,
      audioStreams: [...this.streams.values()].filter((s) => s.audio).length,
    });
  }

  /** Reads the backlog every SAMPLING_CONTROL_S. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.config.degrade.controlMs);
    this.timer.unref();
  }

  /** Stops reading; waits for a reading in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Starts controlling a broadcast (at the current stretch, without priority until the next reading says otherwise). */
  register(b: SampledBroadcast): void {
    const s: Stream = { b, registeredAt: Date.now(), casePriority: null, highScore: null, intervalMs: this.baseMs, audio: true, audioTakenAt: 0, note: null };
    this.streams.set(b.broadcastId, s);
    this.apply(Date.now());
  }

  /** Stops controlling a broadcast (it ended). */
  unregister(broadcastId: string): void {
    this.streams.delete(broadcastId);
  }

  /** The BullMQ priority for a sample of this broadcast (analyzer/jobs.ts `SAMPLE_PRIORITY`). */
  priorityOf(broadcastId: string): number {
    const s = this.streams.get(broadcastId);
    return SAMPLE_PRIORITY[s ? this.priorityOfStream(s, Date.now()) : 'normal'];
  }

  /**
   * Whether an audio chunk of this broadcast should be transcribed now. A broadcast holding a slot passes its turn to
   * the next one with this chunk. @returns null to transcribe, or why not (recorded with the skipped sample).
   */
  audioVerdict(broadcastId: string): string | null {
    const s = this.streams.get(broadcastId);
    if (!s || s.audio) {
      if (s) s.audioTakenAt = Date.now();
      return null;
    }
    const b = this.lastBacklog?.audio;
    const slots = this.audioAll ? this.streams.size : this.audioSlots;
    return `audio backlog: transcription is behind (${b ? `${b.waiting} chunks waiting, oldest ${(b.oldestAgeMs / 1000).toFixed(0)} s` : 'backlog'}); speech of ${slots} of ${this.streams.size} broadcasts transcribed, this one's turn has not come`;
  }

  /**
   * Whether a (non-duplicate) frame of this broadcast should be queued for analysis. @returns null to queue it, or why
   * not (recorded with the skipped sample): only while shedding as a last resort, and never for an urgent broadcast.
   */
  frameVerdict(broadcastId: string): string | null {
    if (!this.framesShedding) return null;
    const s = this.streams.get(broadcastId);
    if (!s || this.priorityOfStream(s, Date.now()) === 'urgent') return null;
    const b = this.lastBacklog?.frames;
    return `frames backlog: the analyzer is behind even at one frame per ${this.maxMs / 1000} s (oldest waiting frame ${b ? (b.oldestAgeMs / 1000).toFixed(0) : '?'} s); frames of broadcasts without priority are not analysed until it catches up`;
  }

  /** Whether frames of broadcasts without priority are being skipped (the last resort). */
  get sheddingFrames(): boolean {
    return this.framesShedding;
  }

  /** Every controlled broadcast's priority, interval and audio state (tests and diagnostics). */
  state(): SamplingState[] {
    const now = Date.now();
    return [...this.streams.values()].map((s) => ({
      broadcastId: s.b.broadcastId, priority: this.priorityOfStream(s, now), reason: this.reasonOf(s, now), intervalMs: s.intervalMs, audio: s.audio,
    }));
  }

  /** The stretch factor now (1: no stretching) and the audio slots (Infinity: every broadcast). */
  get levels(): { stretch: number; audioSlots: number } {
    return { stretch: this.stretch, audioSlots: this.audioAll ? Number.POSITIVE_INFINITY : this.audioSlots };
  }

  /** One reading and adjustment (the timer calls it; tests call it directly). Never throws; overlapping calls share one. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick()
      .catch((err) => this.log.error({ err: errorText(err) }, 'adaptive sampling step failed'))
      .finally(() => { this.ticking = undefined; });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const [backlog] = await Promise.all([this.readBacklog(), this.readAttention()]);
    const now = Date.now();
    if (backlog) {
      this.lastBacklog = backlog;
      const { framesHighMs, framesLowMs, audioHighMs, audioLowMs } = this.deps.config.degrade;
      const before = this.stretch;
      const next = nextStretch({ stretch: this.stretch, backlog: backlog.frames, previousWaiting: this.framesWaiting, highMs: framesHighMs, lowMs: framesLowMs, maxStretch: maxStretch(this.baseMs, this.maxMs) });
      const anyNormal = [...this.streams.values()].some((s) => this.priorityOfStream(s, now) === 'normal');
      this.stretch = skipIdleStretch(before, next, anyNormal, this.baseMs, this.maxMs);
      this.framesWaiting = backlog.frames.waiting;
      const atMax = this.stretch >= maxStretch(this.baseMs, this.maxMs);
      if (!this.framesShedding && atMax && backlog.frames.oldestAgeMs > 4 * framesHighMs) {
        this.framesShedding = true;
        this.log.warn({ framesWaiting: backlog.frames.waiting, oldestWaitingS: round2(backlog.frames.oldestAgeMs / 1000), streams: this.streams.size }, 'analyzer far behind at the longest interval: frames of broadcasts without priority are skipped');
      } else if (this.framesShedding && backlog.frames.oldestAgeMs < framesHighMs) {
        this.framesShedding = false;
        this.log.info({ framesWaiting: backlog.frames.waiting, oldestWaitingS: round2(backlog.frames.oldestAgeMs / 1000) }, 'analyzer catching up: every broadcast\'s frames are queued again');
      }
      if (this.stretch !== before) {
        const up = this.stretch > before;
        this.rateLimitedLog(up ? 'warn' : 'info', 'frames', {
          stretch: round2(this.stretch), previous: round2(before), framesWaiting: backlog.frames.waiting, oldestWaitingS: round2(backlog.frames.oldestAgeMs / 1000),
          intervalS: { normal: intervalFor('normal', this.stretch, this.baseMs, this.maxMs) / 1000, urgent: intervalFor('urgent', this.stretch, this.baseMs, this.maxMs) / 1000 },
          streams: this.streams.size,
        }, up ? 'analyzer behind: frame sampling stretched' : 'analyzer catching up: frame sampling restored towards the base interval', now);
      }
      const step = (ms: number) => Math.min(MAX_AUDIO_STEP_MS, Math.max(this.deps.config.degrade.controlMs, ms));
      const n = this.streams.size;
      const current = this.audioAll ? n : this.audioSlots;
      const proposed = nextAudioSlots(current, n, backlog.audio, this.audioWaiting, audioHighMs, audioLowMs);
      const due = now - this.audioStepAt >= step(proposed < current ? audioHighMs / 4 : audioHighMs / 2);
      if (due && proposed !== current) {
        const next = proposed;
        this.audioWaiting = backlog.audio.waiting;
        this.audioStepAt = now;
        const all = next >= n;
        if (all !== this.audioAll || (!all && next !== this.audioSlots)) {
          const fewer = next < current;
          this.rateLimitedLog(fewer ? 'warn' : 'info', 'audio', {
            audioSlots: all ? 'all' : next, previous: this.audioAll ? 'all' : this.audioSlots, streams: n,
            audioWaiting: backlog.audio.waiting, oldestWaitingS: round2(backlog.audio.oldestAgeMs / 1000),
          }, fewer ? 'transcription behind: fewer broadcasts have their speech transcribed (the others\' chunks are skipped)' : 'transcription catching up: more broadcasts transcribed', now);
        }
        // "every broadcast" stays so as broadcasts come and go, until the backlog says otherwise
        this.audioAll = all;
        this.audioSlots = next;
      } else if (due) {
        this.audioWaiting = backlog.audio.waiting;
        this.audioStepAt = now;
      }
    }
    this.apply(now);
    this.flushLogs(now);
  }

  private async readBacklog(): Promise<{ frames: QueueBacklog; audio: QueueBacklog } | null> {
    try {
      const b = await this.deps.queues.backlog();
      return { frames: b.frames, audio: b.audio };
    } catch (err) {
      this.rateLimitedLog('warn', 'backlog-error', { err: errorText(err) }, 'queue backlog unreadable: sampling kept as it is', Date.now());
      return null;
    }
  }

  /** Open cases and high scores of the controlled broadcasts (kept as they were when Postgres does not answer). */
  private async readAttention(): Promise<void> {
    const streams = [...this.streams.values()];
    if (streams.length === 0) return;
    try {
      const cases = await openCasePriorities(this.deps.db, [...new Set(streams.map((s) => s.b.userId))]);
      for (const s of streams) {
        const p = cases.get(s.b.userId);
        s.casePriority = p && p !== 'low' ? p : null;
      }
      const thresholds = this.deps.policy ? scoreThresholds(this.deps.policy()) : [];
      if (this.signalWatermark === null) {
        // the first reading only places the watermark: broadcasts registered before it have no signals yet
        this.signalWatermark = (await highScoresSince(this.deps.db, [], 0, [])).maxId;
        return;
      }
      const r = await highScoresSince(this.deps.db, streams.map((s) => s.b.broadcastId), this.signalWatermark, thresholds);
      this.signalWatermark = r.maxId;
      for (const [id, h] of r.broadcasts) {
        const s = this.streams.get(id);
        if (s && (!s.highScore || h.at.getTime() >= s.highScore.at)) s.highScore = { at: h.at.getTime(), score: h.score };
      }
    } catch (err) {
      this.rateLimitedLog('warn', 'attention-error', { err: errorText(err) }, 'broadcast priorities unreadable: kept as they were', Date.now());
    }
  }

  private priorityOfStream(s: Stream, now: number): SamplePriority {
    return s.casePriority || (s.highScore && now - s.highScore.at < this.deps.config.degrade.priorityWindowMs) ? 'urgent' : 'normal';
  }

  private reasonOf(s: Stream, now: number): string | null {
    if (s.casePriority) return `open ${s.casePriority} case`;
    if (s.highScore && now - s.highScore.at < this.deps.config.degrade.priorityWindowMs) return `score ${s.highScore.score.toFixed(2)} at a rule's threshold`;
    return null;
  }

  /** Sets every broadcast's interval, audio slot and note from the current levels. */
  private apply(now: number): void {
    const streams = [...this.streams.values()];
    const urgency = (s: Stream) => (s.casePriority ? CASE_RANK[s.casePriority] : this.priorityOfStream(s, now) === 'urgent' ? 5 : 10);
    // audio: urgent first (most urgent case, then the latest high score), then the others in turn
    const order = [...streams].sort((a, b) => urgency(a) - urgency(b) || (urgency(a) < 10 ? (b.highScore?.at ?? 0) - (a.highScore?.at ?? 0) : a.audioTakenAt - b.audioTakenAt) || a.registeredAt - b.registeredAt);
    const slots = this.audioAll ? streams.length : this.audioSlots;
    order.forEach((s, i) => { s.audio = i < slots; });
    for (const s of streams) {
      const ms = intervalFor(this.priorityOfStream(s, now), this.stretch, this.baseMs, this.maxMs);
      if (ms !== s.intervalMs) {
        s.intervalMs = ms;
        s.b.setIntervalMs(ms);
      }
      const parts: string[] = [];
      if (ms > this.baseMs) parts.push(`analyzer behind: sampling one frame per ${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s instead of ${(this.baseMs / 1000).toFixed(this.baseMs % 1000 ? 1 : 0)} s`);
      if (this.framesShedding && this.priorityOfStream(s, now) === 'normal') parts.push('frames not analysed now (analyzer far behind; broadcasts with priority first)');
      if (!s.audio) parts.push('speech not transcribed now (transcription behind; broadcasts take turns)');
      const note = parts.length ? parts.join('; ') : null;
      if (note !== s.note) {
        s.note = note;
        s.b.setDegradationNote(note);
      }
    }
  }

  private rateLimitedLog(level: 'info' | 'warn', kind: string, obj: object, msg: string, now: number): void {
    const l = this.logged.get(kind);
    if (l && now - l.at < LOG_EVERY_MS) {
      l.pending = { obj, msg };
      return;
    }
    this.logged.set(kind, { at: now });
    this.log[level](obj, msg);
  }

  /** Logs the latest suppressed line of each kind whose window has ended. */
  private flushLogs(now: number): void {
    for (const [kind, l] of this.logged) {
      if (l.pending && now - l.at >= LOG_EVERY_MS) {
        this.log.info(l.pending.obj, l.pending.msg);
        this.logged.set(kind, { at: now });
      }
    }
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
