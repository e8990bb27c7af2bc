/**
 * Parsers for the tap's ffmpeg outputs: the MJPEG byte stream cut into whole JPEG images, and framecrc
 * packet lines (stream time and keyframe flag of every video packet).
 */

/** A JPEG larger than this is treated as garbage (no 480p frame comes close). */
const MAX_JPEG_BYTES = 16 * 1024 * 1024;

/** One video packet as listed by ffmpeg's framecrc muxer. Times in seconds. */
export interface PacketTime {
  dts: number;
  pts: number;
  key: boolean;
}

/**
 * Parses ffmpeg framecrc output lines (`#tb 0: 1/15360` header, then
 * `0, dts, pts, duration, size, 0xcrc[, F=0xflags]`; keyframes carry no `F=`, other packets `F=0x0`).
 * Feed every line; returns the packet for packet lines, null for headers and anything unparsable.
 */
export class FramecrcParser {
  private timeBase = 0;

  line(line: string): PacketTime | null {
    if (line.startsWith('#')) {
      const tb = /^#tb 0: (\d+)\/(\d+)/.exec(line);
      if (tb) this.timeBase = Number(tb[1]) / Number(tb[2]);
      return null;
    }
    if (this.timeBase === 0) return null;
    const f = line.split(',');
    if (f.length < 6) return null;
    const dts = Number(f[1]);
    const pts = Number(f[2]);
    if (!Number.isFinite(dts) || !Number.isFinite(pts)) return null;
    return { dts: dts * this.timeBase, pts: pts * this.timeBase, key: !line.includes('F=') };
  }
}

/** A JPEG cut out of a byte stream by {@link JpegSplitter}. */
export interface SplitJpeg {
  jpeg: Buffer;
  /** From the SOFn header; 0 if the image had none. */
  width: number;
  height: number;
}

const enum S {
  Seek, SeekD8, MarkerFF, MarkerCode, LenHi, LenLo, Skip, Entropy, EntropyFF,
}

/**
 * Cuts concatenated JPEGs (ffmpeg's image2pipe MJPEG) out of a byte stream that arrives in arbitrary
 * chunks. It walks the marker segments by their lengths (so bytes inside headers and tables cannot be
 * mistaken for markers) and scans entropy-coded data for 0xFF not followed by 0x00 (stuffing) or RSTn,
 * ending at EOI (0xFFD9). Each byte is looked at once and each image is copied once (Buffer.concat of the
 * chunk slices it spans), so cost is linear in the stream. Bytes outside an image are skipped.
 */
export class JpegSplitter {
  private state = S.Seek;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private marker = 0;
  private remaining = 0;
  private sofBytes: number[] = [];
  private width = 0;
  private height = 0;
  /** Bytes discarded outside images or in corrupt ones (diagnostics). */
  skippedBytes = 0;

  /** Feeds the next chunk; returns the images completed by it, in order. */
  push(chunk: Buffer): SplitJpeg[] {
    const out: SplitJpeg[] = [];
    // Start of the current image's bytes within this chunk, or -1 when not inside an image.
    let start = this.state === S.Seek || this.state === S.SeekD8 ? -1 : 0;
    let i = 0;
    const n = chunk.length;
    const beginImage = (at: number): void => {
      // `at` is the index of 0xD8; its 0xFF is at at-1, or was the previous chunk's last byte.
      this.parts = [];
      this.partsBytes = 0;
      if (at === 0) {
        this.parts.push(Buffer.from([0xff]));
        this.partsBytes = 1;
        start = 0;
      } else start = at - 1;
      this.width = 0;
      this.height = 0;
      this.state = S.MarkerFF;
    };
    const abandon = (): void => {
      this.skippedBytes += this.partsBytes + (start >= 0 ? i - start : 0);
      this.parts = [];
      this.partsBytes = 0;
      start = -1;
      this.state = S.Seek;
    };
    while (i < n) {
      switch (this.state) {
        case S.Seek: {
          const j = chunk.indexOf(0xff, i);
          if (j < 0) {
            this.skippedBytes += n - i;
            i = n;
          } else {
            this.skippedBytes += j - i;
            i = j + 1;
            this.state = S.SeekD8;
          }
          break;
        }
        case S.SeekD8: {
          const b = chunk[i]!;
          if (b === 0xd8) beginImage(i);
          else if (b !== 0xff) {
            this.skippedBytes += 1;
            this.state = S.Seek;
          }
          i++;
          break;
        }
        case S.MarkerFF: {
          if (chunk[i] !== 0xff) {
            abandon();
            break;
          }
          i++;
          this.state = S.MarkerCode;
          break;
        }
        case S.MarkerCode: {
          const marker = this.readMarker(chunk[i++]!);
          if (marker === 'eoi') {
            out.push(this.finish(chunk, start, i));
            start = -1;
          } else if (marker === 'soi') {
            abandon();
            beginImage(i - 1);
          }
          break;
        }
        case S.LenHi:
          this.remaining = chunk[i++]! << 8;
          this.state = S.LenLo;
          break;
        case S.LenLo: {
          this.remaining = (this.remaining | chunk[i++]!) - 2;
          this.sofBytes = [];
          if (this.remaining < 0) abandon();
          else this.state = this.remaining === 0 ? this.afterSegment() : S.Skip;
          break;
        }
        case S.Skip: {
          if (isSof(this.marker) && this.sofBytes.length < 5) {
            this.sofBytes.push(chunk[i++]!);
            this.remaining--;
            if (this.sofBytes.length === 5) {
              this.height = (this.sofBytes[1]! << 8) | this.sofBytes[2]!;
              this.width = (this.sofBytes[3]! << 8) | this.sofBytes[4]!;
            }
          } else {
            const take = Math.min(this.remaining, n - i);
            i += take;
            this.remaining -= take;
          }
          if (this.remaining === 0) this.state = this.afterSegment();
          break;
        }
        case S.Entropy: {
          const j = chunk.indexOf(0xff, i);
          if (j < 0) i = n;
          else {
            i = j + 1;
            this.state = S.EntropyFF;
          }
          break;
        }
        case S.EntropyFF: {
          const b = chunk[i++]!;
          if (b === 0x00 || (b >= 0xd0 && b <= 0xd7)) this.state = S.Entropy; // stuffing, restart markers
          else if (b !== 0xff) {
            const marker = this.readMarker(b);
            if (marker === 'eoi') {
              out.push(this.finish(chunk, start, i));
              start = -1;
            } else if (marker === 'soi') {
              abandon();
              beginImage(i - 1);
            }
          }
          break;
        }
      }
      if (start >= 0 && this.partsBytes + (i - start) > MAX_JPEG_BYTES) abandon();
    }
    if (start >= 0 && start < n) {
      const tail = chunk.subarray(start);
      this.parts.push(tail);
      this.partsBytes += tail.length;
    }
    return out;
  }

  /**
   * Reacts to a marker code read after 0xFF inside an image: 'eoi' completes it (state Seek), 'soi' means a
   * new image starts inside this one (the caller abandons the broken one), 'segment' moves on.
   */
  private readMarker(b: number): 'eoi' | 'soi' | 'segment' {
    if (b === 0xd9) {
      this.state = S.Seek;
      return 'eoi';
    }
    if (b === 0xd8) return 'soi';
    if (b === 0xff) this.state = S.MarkerCode; // fill byte
    else if (b === 0x01 || (b >= 0xd0 && b <= 0xd7)) this.state = S.MarkerFF; // standalone markers
    else {
      this.marker = b;
      this.state = S.LenHi;
    }
    return 'segment';
  }

  private afterSegment(): S {
    return this.marker === 0xda ? S.Entropy : S.MarkerFF;
  }

  private finish(chunk: Buffer, start: number, end: number): SplitJpeg {
    this.parts.push(chunk.subarray(start, end));
    const jpeg = this.parts.length === 1 ? Buffer.from(this.parts[0]!) : Buffer.concat(this.parts);
    this.parts = [];
    this.partsBytes = 0;
    return { jpeg, width: this.width, height: this.height };
  }
}

function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}
