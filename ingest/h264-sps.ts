/**
 * Rewrites an H.264 sequence parameter set so a decoder fed keyframes only outputs each one at once.
 *
 * Why: ffmpeg's h264 decoder holds back as many pictures as the SPS's VUI says may be reordered
 * (`max_num_reorder_frames`: 1 with B-frames, 2 with x264's default B-pyramid, as OBS and most encoders send). The
 * tap decodes keyframes only, so each sampled frame came out only after that many *further keyframes* had been
 * decoded: 4 s behind live at a 2 s GOP, and 2 × the interval once the tap leaves keyframes out before decoding. A
 * stream of IDR pictures alone has nothing to reorder, so the tap tells the decoder so: `max_num_reorder_frames = 0`.
 * Nothing else in the SPS changes, and the rewritten SPS only ever reaches the tap's own decoder.
 *
 * Syntax: ITU-T H.264 (08/2021) 7.3.2.1.1 seq_parameter_set_data, 7.3.2.1.1.1 scaling_list, E.1.1 vui_parameters,
 * E.1.2 hrd_parameters; 7.4.1 emulation prevention; the AVCDecoderConfigurationRecord of ISO/IEC 14496-15 5.3.3.1.
 */

/** NAL unit payload with emulation prevention bytes (00 00 03) removed. */
export function toRbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) { zeros = 0; continue; }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Adds emulation prevention bytes: after two zero bytes, a byte ≤ 3 gets an 03 before it. */
export function fromRbsp(rbsp: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) { out.push(3); zeros = 0; }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

class BitReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  bit(): number {
    if (this.pos >= this.buf.length * 8) throw new RangeError('SPS ends early');
    const b = (this.buf[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new RangeError('SPS has an Exp-Golomb code over 32 bits');
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** profile_idc values whose SPS carries chroma format, bit depths and scaling matrices (7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function skipHrd(r: BitReader): void {
  const cpbCnt = r.ue() + 1;
  if (cpbCnt > 32) throw new RangeError('SPS: cpb_cnt_minus1 over 31');
  r.u(8); // bit_rate_scale, cpb_size_scale
  for (let i = 0; i < cpbCnt; i++) { r.ue(); r.ue(); r.bit(); }
  r.u(20); // four 5-bit lengths
}

/** Where `max_num_reorder_frames` sits in an SPS RBSP (bit offsets, end exclusive) and its value. */
export interface ReorderField { start: number; end: number; value: number }

/**
 * Parses an SPS RBSP (NAL header byte included) up to VUI `max_num_reorder_frames`.
 * @returns the field, or null when the SPS has no VUI bitstream restriction (the decoder then assumes no reordering
 *          unless it sees pictures out of order, which keyframes alone never are).
 * @throws RangeError on a truncated or malformed SPS; Error when the NAL unit is not an SPS.
 */
export function findReorderField(rbsp: Buffer): ReorderField | null {
  if (rbsp.length < 4 || (rbsp[0]! & 0x1f) !== 7) throw new Error('not a sequence parameter set NAL unit');
  const r = new BitReader(rbsp);
  r.pos = 8;
  const profile = r.u(8);
  r.u(16); // constraint flags, reserved bits, level_idc
  r.ue(); // seq_parameter_set_id
  if (HIGH_PROFILES.has(profile)) {
    const chroma = r.ue();
    if (chroma === 3) r.bit();
    r.ue(); r.ue(); r.bit(); // bit depths, qpprime_y_zero_transform_bypass_flag
    if (r.bit()) for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bit(); r.se(); r.se();
    const cycle = r.ue();
    if (cycle > 255) throw new RangeError('SPS: num_ref_frames_in_pic_order_cnt_cycle over 255');
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); r.bit(); r.ue(); r.ue(); // max_num_ref_frames, gaps flag, width and height in macroblocks
  if (!r.bit()) r.bit(); // frame_mbs_only_flag, mb_adaptive_frame_field_flag
  r.bit(); // direct_8x8_inference_flag
  if (r.bit()) { r.ue(); r.ue(); r.ue(); r.ue(); } // frame cropping
  if (!r.bit()) return null; // vui_parameters_present_flag
  if (r.bit() && r.u(8) === 255) r.u(32); // aspect ratio, extended SAR
  if (r.bit()) r.bit(); // overscan
  if (r.bit()) { r.u(4); if (r.bit()) r.u(24); } // video signal type, colour description
  if (r.bit()) { r.ue(); r.ue(); } // chroma location
  if (r.bit()) { r.u(32); r.u(32); r.bit(); } // timing info
  const nalHrd = r.bit();
  if (nalHrd) skipHrd(r);
  const vclHrd = r.bit();
  if (vclHrd) skipHrd(r);
  if (nalHrd || vclHrd) r.bit(); // low_delay_hrd_flag
  r.bit(); // pic_struct_present_flag
  if (!r.bit()) return null; // bitstream_restriction_flag
  r.bit(); r.ue(); r.ue(); r.ue(); r.ue();
  const start = r.pos;
  const value = r.ue();
  const end = r.pos;
  r.ue(); // max_dec_frame_buffering: must follow, or the SPS is truncated
  return { start, end, value };
}

/** Appends bits [from, to) of `src` to `bits`. */
function copyBits(bits: number[], src: Buffer, from: number, to: number): void {
  for (let p = from; p < to; p++) bits.push((src[p >> 3]! >> (7 - (p & 7))) & 1);
}

/**
 * The SPS NAL unit with `max_num_reorder_frames` set to 0 (see the module docs).
 * @returns the rewritten NAL unit, or null when it already says 0 or has no bitstream restriction (nothing to change).
 * @throws RangeError/Error as {@link findReorderField}.
 */
export function spsWithoutReorder(nal: Buffer): Buffer | null {
  const rbsp = toRbsp(nal);
  const field = findReorderField(rbsp);
  if (!field || field.value === 0) return null;
  // the payload ends at the rbsp_stop_one_bit: the last 1 bit
  let last = rbsp.length - 1;
  while (last >= 0 && rbsp[last] === 0) last--;
  if (last < 0) throw new RangeError('SPS has no stop bit');
  const stop = last * 8 + (7 - Math.log2(rbsp[last]! & -rbsp[last]!));
  const bits: number[] = [];
  copyBits(bits, rbsp, 0, field.start);
  bits.push(1); // ue(v) 0
  copyBits(bits, rbsp, field.end, stop);
  bits.push(1);
  while (bits.length % 8 !== 0) bits.push(0);
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >> 3]! |= 0x80 >> (i & 7);
  return fromRbsp(out);
}

/**
 * An AVCDecoderConfigurationRecord (FLV/MP4 `avcC`) with every SPS rewritten by {@link spsWithoutReorder}.
 * @returns the new record, or null when no SPS needed a change.
 * @throws RangeError when the record is truncated or an SPS is malformed.
 */
export function avcConfigWithoutReorder(record: Buffer): Buffer | null {
  if (record.length < 7 || record[0] !== 1) throw new RangeError('not an AVCDecoderConfigurationRecord');
  const count = record[5]! & 0x1f;
  const parts: Buffer[] = [record.subarray(0, 6)];
  let p = 6;
  let changed = false;
  for (let i = 0; i < count; i++) {
    if (p + 2 > record.length) throw new RangeError('AVCDecoderConfigurationRecord ends early');
    const len = record.readUInt16BE(p);
    if (p + 2 + len > record.length) throw new RangeError('AVCDecoderConfigurationRecord ends early');
    const sps = record.subarray(p + 2, p + 2 + len);
    const rewritten = spsWithoutReorder(sps);
    const use = rewritten ?? sps;
    if (rewritten) changed = true;
    const head = Buffer.alloc(2);
    head.writeUInt16BE(use.length);
    parts.push(head, use);
    p += 2 + len;
  }
  if (!changed) return null;
  parts.push(record.subarray(p));
  return Buffer.concat(parts);
}

/**
 * Length-prefixed NAL units (AVCC, `lengthSize` bytes each, as in FLV and MP4) with any in-band SPS rewritten by
 * {@link spsWithoutReorder} (some encoders repeat the SPS before every keyframe).
 * @returns the new payload, or null when there was no SPS to change.
 * @throws RangeError when a length runs past the payload or an SPS is malformed.
 */
export function nalUnitsWithoutReorder(data: Buffer, lengthSize: number): Buffer | null {
  const parts: Buffer[] = [];
  let changed = false;
  for (let p = 0; p < data.length; ) {
    if (p + lengthSize > data.length) throw new RangeError('NAL unit length runs past the packet');
    const len = data.readUIntBE(p, lengthSize);
    const end = p + lengthSize + len;
    if (end > data.length || len === 0) throw new RangeError('NAL unit length runs past the packet');
    const nal = data.subarray(p + lengthSize, end);
    const rewritten = (nal[0]! & 0x1f) === 7 ? spsWithoutReorder(nal) : null;
    if (rewritten) {
      changed = true;
      const head = Buffer.alloc(lengthSize);
      head.writeUIntBE(rewritten.length, 0, lengthSize);
      parts.push(head, rewritten);
    } else parts.push(data.subarray(p, end));
    p = end;
  }
  return changed ? Buffer.concat(parts) : null;
}
