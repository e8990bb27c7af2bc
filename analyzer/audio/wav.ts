/**
 * Minimal RIFF/WAVE handling for 16-bit PCM: encode a chunk the tap produced, read a header, cut a time
 * span for evidence playback. Only what Warden writes and pocketsphinx reads (PCM, format tag 1 or
 * WAVE_FORMAT_EXTENSIBLE with PCM sub-format, 16 bits per sample) is accepted; anything else is a clear error.
 *
 * Layout from the Microsoft "Multimedia Programming Interface and Data Specifications 1.0" (1991), RIFF
 * chapter: `RIFF <size> WAVE`, then chunks `<id:4><size:u32le><data, padded to even length>`, among them
 * `fmt ` (format tag, channels, sample rate, byte rate, block align, bits per sample) and `data`.
 */

/** What a WAV header says. */
export interface WavInfo {
  /** Samples per second per channel (Hz). */
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Byte offset of the first sample in the buffer. */
  dataOffset: number;
  /** Length of the sample data in bytes (as the header states, clamped to the buffer unless `partial`). */
  dataBytes: number;
  /** dataBytes as seconds of audio. */
  durationS: number;
}

const HEADER_BYTES = 44;
const FORMAT_PCM = 1;
const FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Wraps 16-bit little-endian PCM in a canonical 44-byte WAV header.
 *
 * @param pcm interleaved s16le samples (an odd trailing byte is dropped)
 * @param sampleRate Hz (default 16000, the rate of the tap and the en-us acoustic model)
 * @param channels default 1
 * @throws RangeError for a non-positive rate or channel count
 */
export function encodeWav(pcm: Buffer, sampleRate = 16_000, channels = 1): Buffer {
  if (!(Number.isInteger(sampleRate) && sampleRate > 0)) throw new RangeError(`bad sample rate ${sampleRate}`);
  if (!(Number.isInteger(channels) && channels > 0)) throw new RangeError(`bad channel count ${channels}`);
  const blockAlign = 2 * channels;
  const dataBytes = pcm.length - (pcm.length % blockAlign);
  const out = Buffer.allocUnsafe(HEADER_BYTES + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(FORMAT_PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * blockAlign, 28);
  out.writeUInt16LE(blockAlign, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  pcm.copy(out, HEADER_BYTES, 0, dataBytes);
  return out;
}

/**
 * Reads a 16-bit PCM WAV header by walking the RIFF chunks up to `data`.
 *
 * @param buf the file, or with `partial` only its first bytes (enough to reach the `data` chunk header)
 * @param opts.partial the buffer may end before the data does: dataBytes is the header's figure, not clamped
 * @throws Error naming what is wrong: not RIFF/WAVE, no `fmt `/`data` chunk, not PCM, not 16-bit
 */
export function readWavInfo(buf: Buffer, opts: { partial?: boolean } = {}): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let fmt: { format: number; channels: number; sampleRate: number; bitsPerSample: number } | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new Error('WAV fmt chunk is truncated');
      let format = buf.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE: the real format tag is the first two bytes of the sub-format GUID
      if (format === FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= buf.length) format = buf.readUInt16LE(body + 24);
      fmt = { format, channels: buf.readUInt16LE(body + 2), sampleRate: buf.readUInt32LE(body + 4), bitsPerSample: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk comes before its fmt chunk');
      if (fmt.format !== FORMAT_PCM) throw new Error(`WAV format ${fmt.format} is not PCM`);
      if (fmt.bitsPerSample !== 16) throw new Error(`WAV has ${fmt.bitsPerSample}-bit samples, not 16-bit`);
      if (fmt.channels < 1 || fmt.sampleRate < 1) throw new Error('WAV fmt chunk has no channels or no sample rate');
      // ffmpeg writing to a pipe leaves 0xFFFFFFFF (unknown length): the data runs to the end of the file
      const stated = size === 0xffffffff ? buf.length - body : size;
      const dataBytes = opts.partial ? stated : Math.min(stated, buf.length - body);
      const { channels, sampleRate, bitsPerSample } = fmt;
      return { sampleRate, channels, bitsPerSample, dataOffset: body, dataBytes, durationS: dataBytes / (2 * channels * sampleRate) };
    }
    off = body + size + (size & 1);
  }
  throw new Error(fmt ? 'WAV has no data chunk' : 'WAV has no fmt chunk');
}

/**
 * Cuts `[startS, endS)` out of a 16-bit PCM WAV into a new WAV (same rate and channels). The span is clamped
 * to the audio and aligned to whole sample frames.
 *
 * @throws RangeError when the span is not finite, ends before it starts, or is empty after clamping;
 *   Error from {@link readWavInfo} for a buffer that is not 16-bit PCM WAV
 */
export function sliceWav(buf: Buffer, startS: number, endS: number): Buffer {
  if (!Number.isFinite(startS) || !Number.isFinite(endS) || endS <= startS) {
    throw new RangeError(`bad audio span ${startS}..${endS} s`);
  }
  const info = readWavInfo(buf);
  const frameBytes = 2 * info.channels;
  const frames = Math.floor(info.dataBytes / frameBytes);
  const from = Math.min(frames, Math.max(0, Math.floor(startS * info.sampleRate)));
  const to = Math.min(frames, Math.max(0, Math.ceil(endS * info.sampleRate)));
  if (to <= from) throw new RangeError(`audio span ${startS}..${endS} s is outside the ${info.durationS.toFixed(2)} s of audio`);
  const pcm = buf.subarray(info.dataOffset + from * frameBytes, info.dataOffset + to * frameBytes);
  return encodeWav(pcm, info.sampleRate, info.channels);
}
