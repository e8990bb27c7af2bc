/**
 * Live captions: the broadcast's transcript as WebVTT (`GET /api/broadcasts/:id/captions.vtt?from=S`, cue times in
 * seconds from the broadcast's start), fetched every few seconds from the end of the last cue already held, and
 * added as `VTTCue`s to a TextTrack of the `<video>`.
 *
 * The transcript comes from audio chunks of about ten seconds, so a cue reaches the page well after its words
 * were heard in the video. Cues are therefore shown as they arrive: each batch is laid out from the video's
 * current time, keeping its cues' own lengths and gaps, after whatever is still on screen (never overlapping).
 */

/** One cue: start and end in seconds from the broadcast's start. */
export interface Cue { start: number; end: number; text: string }

/** `HH:MM:SS.mmm` or `MM:SS.mmm` → seconds. */
function seconds(ts: string): number {
  const parts = ts.trim().split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&nbsp;': ' ' };

/** Parses WebVTT cue blocks (identifiers and settings ignored, tags stripped, entities decoded). */
export function parseVtt(text: string): Cue[] {
  const cues: Cue[] = [];
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n{2,}/)) {
    const lines = block.split('\n');
    const i = lines.findIndex((l) => l.includes('-->'));
    if (i < 0) continue;
    const [a, b] = lines[i]!.split('-->');
    const start = seconds(a!);
    const end = seconds(b!.trim().split(/\s+/)[0]!);
    const body = lines.slice(i + 1).join('\n').replace(/<[^>]*>/g, '').replace(/&[a-z#0-9]+;/gi, (e) => ENTITIES[e] ?? e).trim();
    if (body && Number.isFinite(start) && Number.isFinite(end) && end > start) cues.push({ start, end, text: body });
  }
  return cues;
}

/** How often to ask for new cues (ms). */
export const CAPTION_POLL_MS = 3000;
/** On joining, only cues that ended in the last this-many seconds of the broadcast are shown. */
const JOIN_WINDOW_S = 20;

/**
 * Feeds a TextTrack from the captions endpoint while started. `track` stays attached to the video; its mode
 * (showing / hidden) is the Captions button's business.
 */
export class CaptionFeed {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private from: number | null = null;
  private shownUntil = 0;
  private readonly seen = new Set<string>();
  private abort: AbortController | null = null;

  constructor(
    private readonly broadcastId: string,
    private readonly startedAt: number,
    private readonly video: HTMLVideoElement,
    private readonly track: TextTrack,
    private readonly onCue: (cue: Cue) => void = () => {},
  ) {}

  start(): void {
    if (this.timer !== null || this.abort) return;
    void this.poll();
  }

  /** Drops every cue (a new player started its timeline at 0 again); later batches are laid out afresh. */
  reset(): void {
    for (const cue of Array.from(this.track.cues ?? [])) this.track.removeCue(cue);
    this.shownUntil = 0;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.abort?.abort();
    this.abort = null;
  }

  private async poll(): Promise<void> {
    this.timer = null;
    this.abort = new AbortController();
    try {
      const from = this.from ?? Math.max(0, (Date.now() - this.startedAt) / 1000 - JOIN_WINDOW_S);
      const res = await fetch(`/api/broadcasts/${this.broadcastId}/captions.vtt?from=${from.toFixed(3)}`, { credentials: 'same-origin', signal: this.abort.signal });
      if (res.ok) this.add(parseVtt(await res.text()), from);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
    }
    this.abort = null;
    this.timer = setTimeout(() => void this.poll(), CAPTION_POLL_MS);
  }

  private add(cues: Cue[], from: number): void {
    const fresh = cues.filter((c) => c.end > from && !this.seen.has(`${c.start}|${c.text}`)).sort((a, b) => a.start - b.start);
    this.from = Math.max(from, ...cues.map((c) => c.end));
    if (!fresh.length) return;
    const now = this.video.currentTime;
    // lay the batch out from now (or after what is still showing), keeping its own rhythm
    const base = Math.max(now, this.shownUntil > now + 10 ? now : this.shownUntil);
    const shift = base - fresh[0]!.start;
    for (const c of fresh) {
      this.seen.add(`${c.start}|${c.text}`);
      const cue = new VTTCue(c.start + shift, c.end + shift, c.text);
      this.track.addCue(cue);
      this.shownUntil = Math.max(this.shownUntil, cue.endTime);
      this.onCue(c);
    }
  }
}
