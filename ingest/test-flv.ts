/**
 * Test fixture for the ingest tests and bench/tap-feed.ts: a real x264 + AAC stream (ffmpeg's test card and a sine
 * tone) muxed as FLV by ffmpeg, split into what node-media-server hands its FLV subscribers — the 13-byte file
 * header, then one buffer per tag (11-byte header, body, 4-byte previous tag size; Adobe FLV spec v10.1, E.3–E.4).
 */
import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { ffmpegPath, runFfmpeg } from './ffmpeg.ts';

/**
 * `seconds` of 320×180 at 30 fps with `x264Params` (say, a keyframe every second and B-frames), AAC audio.
 * @returns the FLV file header, then each tag, as subarrays of one buffer.
 */
export function x264FlvTags(seconds: number, x264Params: string): Buffer[] {
  const flv = execFileSync(ffmpegPath(), [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-x264-params', x264Params,
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', 'pipe:1',
  ], { maxBuffer: 1 << 26 });
  return splitFlvTags(flv).map((t) => t.data);
}

/**
 * An FLV file split as node-media-server hands it to subscribers: the 13-byte file header (`ts` 0), then one buffer
 * per tag (11-byte header, body, 4-byte previous tag size), subarrays of `flv`, each with its timestamp in ms (24 bits
 * plus the 8-bit extension, E.4.1). A truncated last tag is left out.
 */
export function splitFlvTags(flv: Buffer): { data: Buffer; ts: number }[] {
  const tags = [{ data: flv.subarray(0, 13), ts: 0 }];
  for (let off = 13; off + 11 <= flv.length;) {
    const size = flv.readUIntBE(off + 1, 3);
    if (off + 11 + size + 4 > flv.length) break;
    tags.push({ data: flv.subarray(off, off + 11 + size + 4), ts: flv.readUIntBE(off + 4, 3) | (flv[off + 7]! << 24) });
    off += 11 + size + 4;
  }
  return tags;
}

/** An MP4 remuxed to FLV (stream copy, through a file of its own: concurrent callers remux the same clip), split. */
export async function flvTagsOf(mp4: string): Promise<{ data: Buffer; ts: number }[]> {
  const file = `${mp4}.${process.pid}.${Math.random().toString(36).slice(2)}.flv`;
  await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', mp4, '-c', 'copy', '-f', 'flv', file]);
  try {
    return splitFlvTags(await readFile(file));
  } finally {
    await rm(file, { force: true });
  }
}
