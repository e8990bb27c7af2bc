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
import type { PacketTime } from './tap-parsers.ts';
import type { TapMode } from './tap.ts';

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
  if (exHeader) {
    const packetType = first & 0x0f;
    coded = packetType === 1 || packetType === 3;
    if (packetType === 1 && buf.length >= 11 + 5 + 3) ctsMs = buf.readIntBE(11 + 5, 3);
  } else if ((first & 0x0f) === 7 || (first & 0x0f) === 12) {
    // AVC or (legacy-signalled) HEVC: packet type, then composition time
    coded = buf.length >= 16 && buf[12] === 1;
    if (coded) ctsMs = buf.readIntBE(13, 3);
  } else {
    coded = frameType !== 5; // other codecs: every frame but video info/command frames
  }
  const forward = mode === 'interval' || key || !coded;
  if (!coded) return { forward };
  return { forward, packet: { dts: dtsMs / 1000, pts: (dtsMs + ctsMs) / 1000, key } };
}
