/**
 * The tap's ffmpeg command line (see ingest/tap.ts for what each output is for) and log redaction of inputs.
 */
import type { TapMode } from './tap-types.ts';
import { audioOutputArgs } from './tap-audio.ts';

/** Inputs of {@link buildTapArgs}. */
export interface TapArgsOptions {
  input: string;
  mode: TapMode;
  sampleIntervalMs: number;
  maxHeight: number;
  realtime?: boolean;
  /** Keyframes mode only: add the packet-timing output on fd 3 (default true). */
  packetTimes?: boolean;
  /** Add the audio output (16 kHz mono s16le PCM) on fd 4. */
  audio?: boolean;
  /** The input's container when ffmpeg cannot tell from the input (`flv` for the in-process feed on `pipe:0`). */
  inputFormat?: string;
}

/**
 * ffmpeg arguments for one tap run, as an array (no shell). Sections: global, input, video output, the
 * packet-timing output (fd 3) and the audio output (fd 4), each optional past the video.
 *
 * Keyframes mode puts `-skip_frame nokey` on the input so the decoder only decodes keyframes. Both modes
 * keep frames with `select` when at least the interval has passed since the last kept frame (keyframes
 * mode allows 5% early, so a keyframe that arrives a frame early by timestamp jitter is not dropped in
 * favour of one a whole GOP later), `-vsync vfr` (ffmpeg 4.1 has no -fps_mode) so nothing is duplicated,
 * scale to at most `maxHeight` (even width, square pixels), and write MJPEG to stdout via image2pipe.
 * Decoding is single-threaded: parallelism comes from running one tap per stream. In keyframes mode a
 * second output lists every video packet (`-c:v copy -f framecrc -flush_packets 1 pipe:3`: stream copy,
 * nothing decoded) so the tap can measure keyframe spacing in stream time; spawn with a pipe on fd 3.
 */
export function buildTapArgs(o: TapArgsOptions): string[] {
  const intervalS = o.sampleIntervalMs / 1000;
  const minGapS = o.mode === 'keyframes' ? intervalS * 0.95 : Math.max(intervalS - 0.001, 0);
  const global = ['-hide_banner', '-loglevel', 'error', '-nostats', '-nostdin'];
  const input = [
    ...(o.realtime ? ['-re'] : []),
    '-threads', '1',
    ...(o.mode === 'keyframes' ? ['-skip_frame', 'nokey'] : []),
    // the in-process feed: ffmpeg would otherwise probe 20 frames for a frame rate before its first output, and with
    // keyframes only that is 20 keyframes (40 s at a 2 s GOP), and read 5 s of stream (its default analyzeduration)
    // first; FLV's sequence headers, which come first, already give the codec parameters
    ...(o.inputFormat ? ['-fpsprobesize', '0', '-analyzeduration', '500000', '-f', o.inputFormat] : []),
    '-i', o.input,
  ];
  const filters = [
    `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${minGapS.toFixed(3)})'`,
    `scale=-2:'min(ih\\,${Math.round(o.maxHeight)})'`,
    'setsar=1',
  ];
  const video = [
    '-map', '0:v:0', '-an', '-sn', '-dn',
    '-filter_threads', '1',
    '-vf', filters.join(','),
    '-vsync', 'vfr',
    '-threads', '1', '-c:v', 'mjpeg', '-q:v', '3',
    '-f', 'image2pipe', 'pipe:1',
  ];
  const packets =
    o.mode === 'keyframes' && (o.packetTimes ?? true)
      ? ['-map', '0:v:0', '-c:v', 'copy', '-an', '-sn', '-dn', '-f', 'framecrc', '-flush_packets', '1', 'pipe:3']
      : [];
  return [...global, ...input, ...video, ...packets, ...(o.audio ? audioOutputArgs(4) : [])];
}


/** Hides the stream key and query (signature) of a URL input, for logs. File paths are returned as they are. */
export function redactInput(input: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(\/[^/?#]*)?/i.exec(input);
  if (!m) return input;
  return `${m[1]}${m[2] ?? ''}/***`;
}
