/**
 * The tap's feed from inside the process: the broadcast's FLV tags, as node-media-server already builds them for
 * HTTP-FLV players, written to ffmpeg's stdin instead of a second RTMP connection that ffmpeg would read the whole
 * stream back from. In keyframes mode only what ffmpeg needs is written — the FLV header, metadata, sequence headers,
 * audio and video keyframes — so ffmpeg demuxes a tenth of the bytes and no RTMP session is relayed; the timing of
 * every video packet (keyframe spacing in stream time, what the framecrc output told the tap before) is read here
 * from the tag headers instead.
 *
 * FLV tags (Adobe FLV spec v10.1, E.4): an 11-byte header (type, data size, timestamp + extension, stream id), the
 * body, a 4-byte previous-tag size. A video body starts with frame type (high nibble; 1 keyframe) and codec id
 * (low nibble; 7 AVC), then for AVC the packet type (0 sequence header, 1 NAL units) and a 24-bit signed composition
 * time. Enhanced RTMP (veovera.org, v1/v2) sets the high bit and carries the packet type in the low nibble; its
 * CodedFrames (1) have a composition time, CodedFramesX (3) none.
 */
import { avcConfigWithoutReorder, nalUnitsWithoutReorder } from './h264-sps.ts';
import type { PacketTime } from './tap-parsers.ts';
import { FrameThinner } from './thinner.ts';
import type { TapMode } from './tap-types.ts';

/**
 * Where a tap's feed comes from: `open` starts delivering the broadcast's FLV data (the FLV header first, then its
 * cached headers and the current GOP, then live tags, one Buffer each) to `sink` and returns the function that stops
 * it. @throws Error when the broadcast is not live here.
 */
export interface TapSource {
  open(sink: (data: Buffer) => void): () => void;
}

/** What {@link classifyTag} found in one FLV buffer. */
export interface TagVerdict {
  /** Write it to ffmpeg in this mode. */
  forward: boolean;
  /** For a coded video frame: its timing and whether it is a keyframe. */
  packet?: PacketTime;
  /**
   * For H.264 (legacy codec id 7, or Enhanced RTMP `avc1`): whether the tag holds the decoder configuration record
   * or coded frames, and where in the tag that payload starts.
   */
  avc?: { kind: 'config' | 'frames'; dataOffset: number };
}

const FLV_SIGNATURE = 0x464c56; // 'FLV'

/**
 * Decides whether one buffer of the feed goes to ffmpeg and reads a video frame's timing.
 * - keyframes mode: the FLV header, script data (metadata), audio, video sequence headers and video keyframes;
 * - interval mode: everything.
 * A buffer that is not a whole FLV tag (too short) is forwarded: ffmpeg's demuxer is the judge of malformed input.
 */
export function classifyTag(buf: Buffer, mode: TapMode): TagVerdict {
  if (buf.length >= 3 && buf.readUIntBE(0, 3) === FLV_SIGNATURE) return { forward: true };
  if (buf.length < 12) return { forward: true };
  const type = buf[0]! & 0x1f;
  if (type !== 9) return { forward: true };
  const first = buf[11]!;
  const frameType = (first >> 4) & 0x07;
  const key = frameType === 1;
  const exHeader = (first & 0x80) !== 0;
  const dtsMs = buf.readUIntBE(4, 3) | (buf[7]! << 24);
  let coded: boolean;
  let ctsMs = 0;
  let avc: TagVerdict['avc'];
  if (exHeader) {
    const packetType = first & 0x0f;
    coded = packetType === 1 || packetType === 3;
    if (packetType === 1 && buf.length >= 11 + 5 + 3) ctsMs = buf.readIntBE(11 + 5, 3);
    if (buf.length > 16 && buf.toString('latin1', 12, 16) === 'avc1') {
      if (packetType === 0) avc = { kind: 'config', dataOffset: 16 };
      else if (coded) avc = { kind: 'frames', dataOffset: packetType === 1 ? 19 : 16 };
    }
  } else if ((first & 0x0f) === 7 || (first & 0x0f) === 12) {
    // AVC or (legacy-signalled) HEVC: packet type, then composition time
    coded = buf.length >= 16 && buf[12] === 1;
    if (coded) ctsMs = buf.readIntBE(13, 3);
    if ((first & 0x0f) === 7 && buf.length > 16) avc = buf[12] === 0 ? { kind: 'config', dataOffset: 16 } : coded ? { kind: 'frames', dataOffset: 16 } : undefined;
  } else {
    coded = frameType !== 5; // other codecs: every frame but video info/command frames
  }
  const forward = mode === 'interval' || key || !coded;
  if (!coded) return avc ? { forward, avc } : { forward };
  return { forward, packet: { dts: dtsMs / 1000, pts: (dtsMs + ctsMs) / 1000, key }, ...(avc ? { avc } : {}) };
}

/** An FLV tag with its payload from `dataOffset` on replaced (data size and previous-tag size rewritten). */
function withPayload(tag: Buffer, dataOffset: number, payload: Buffer): Buffer {
  const body = dataOffset - 11 + payload.length;
  const out = Buffer.allocUnsafe(11 + body + 4);
  tag.copy(out, 0, 0, dataOffset);
  out.writeUIntBE(body, 1, 3);
  payload.copy(out, dataOffset);
  out.writeUInt32BE(11 + body, 11 + body);
  return out;
}

/** What {@link KeyframeFeed.push} decided for one buffer of the feed. */
export interface FeedDecision {
  /** What to write to ffmpeg (the buffer itself, a rewritten copy), or null to leave it out. */
  out: Buffer | null;
  /** For a coded video frame: its timing (every frame, whether written or not). */
  packet?: PacketTime;
  /** A keyframe left out only because adaptive sampling stretched the interval past the base one. */
  thinned: boolean;
}

/**
 * The in-process feed's filter for one ffmpeg run: what {@link classifyTag} forwards, and in keyframes mode, for H.264,
 * the sampling decided before decoding rather than after it.
 *
 * - The decoder configuration (and any SPS repeated in a keyframe) is rewritten to say no pictures are reordered
 *   (ingest/h264-sps.ts), so ffmpeg outputs each keyframe as soon as it is decoded instead of after the next one or
 *   two: a B-frame stream's samples were 2 GOPs (4 s) behind live.
 * - With that done, only the keyframes that will be sampled reach ffmpeg: one at least 95% of the base interval (and
 *   1 ms) after the last (so ffmpeg's own `select` at 95% keeps every one), thinned further, by stream time, to the
 *   interval adaptive sampling set ({@link FrameThinner}). A keyframe left out is never decoded: when the analyzer
 *   falls behind and sampling stretches, the taps' decoding shrinks with it, which is what frees the CPU.
 *
 * Until a configuration record has been read and rewritten (another codec, a record it cannot parse), every keyframe
 * is written, as before, and the tap thins after decoding ({@link KeyframeFeed.preThinning} false).
 */
export class KeyframeFeed {
  private lengthSize = 0;
  private _preThinning = false;
  private lastBaseMs: number | undefined;
  private lastMs = 0;
  private readonly thinner: FrameThinner;
  /** Why pre-decode sampling is off although the stream looked like H.264 (null: it is on, or not H.264). */
  note: string | null = null;

  /** @param baseMs the base sampling interval (ms); @param effectiveMs the interval in force (≥ base). */
  constructor(private readonly mode: TapMode, private readonly baseMs: number, effectiveMs = baseMs) {
    this.thinner = new FrameThinner(baseMs);
    this.thinner.setInterval(effectiveMs, 0);
  }

  /** Whether keyframes are being sampled before decoding (keyframes mode, H.264, configuration rewritten). */
  get preThinning(): boolean {
    return this._preThinning;
  }

  /** Sets the effective interval (ms, ≥ base) for the keyframes still to come. */
  setInterval(ms: number): void {
    this.thinner.setInterval(ms, this.lastMs);
  }

  /** Decides one buffer of the feed (a whole FLV tag, or the FLV header). */
  push(data: Buffer): FeedDecision {
    const v = classifyTag(data, this.mode);
    if (!v.forward) return { out: null, packet: v.packet, thinned: false };
    if (this.mode !== 'keyframes' || !v.avc) return { out: data, packet: v.packet, thinned: false };
    // a tag ends with the 4-byte size of itself (PreviousTagSize of the next)
    const payload = data.subarray(v.avc.dataOffset, data.length - 4);
    if (v.avc.kind === 'config') {
      try {
        if (payload.length < 5) throw new RangeError('AVCDecoderConfigurationRecord ends early');
        const rewritten = avcConfigWithoutReorder(payload);
        this.lengthSize = (payload[4]! & 0x03) + 1;
        this._preThinning = true;
        this.note = null;
        return { out: rewritten ? withPayload(data, v.avc.dataOffset, rewritten) : data, thinned: false };
      } catch (err) {
        this._preThinning = false;
        this.note = `H.264 configuration not rewritten (${err instanceof Error ? err.message : String(err)}): every keyframe is decoded`;
        return { out: data, thinned: false };
      }
    }
    const p = v.packet;
    if (!this._preThinning || !p?.key) return { out: data, packet: p, thinned: false };
    const ms = Math.round(p.pts * 1000);
    this.lastMs = ms;
    if (this.lastBaseMs !== undefined && ms < this.lastBaseMs) {
      // timestamps went back (a discontinuity): sample afresh
      this.lastBaseMs = undefined;
      this.thinner.reset();
    }
    if (this.lastBaseMs !== undefined && ms - this.lastBaseMs < Math.round(this.baseMs * 0.95) + 1) return { out: null, packet: p, thinned: false };
    this.lastBaseMs = ms;
    if (!this.thinner.keep(ms)) return { out: null, packet: p, thinned: true };
    let out = data;
    try {
      const rewritten = nalUnitsWithoutReorder(payload, this.lengthSize);
      if (rewritten) out = withPayload(data, v.avc.dataOffset, rewritten);
    } catch {
      // a malformed packet goes as it is: ffmpeg's decoder is the judge of it
    }
    return { out, packet: p, thinned: false };
  }
}
