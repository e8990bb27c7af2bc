import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AudioChunker, detectSpeech, FLOOR_DBFS, type AudioChunk } from './audio-chunker.ts';

const RATE = 16_000;
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

/** Deterministic PRNG (mulberry32) returning [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** s16le PCM where sample i is a scrambled function of i (period 65536 samples, ~4 s). */
function ramp(samples: number): Buffer {
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) b.writeInt16LE(((i * 7919) & 0xffff) - 32768, i * 2);
  return b;
}

/** Feeds `pcm` in random-size pieces of 1..maxPiece bytes (so samples are often split between pieces). */
function feed(chunker: AudioChunker, pcm: Buffer, seed: number, maxPiece = 9000): AudioChunk[] {
  const rand = rng(seed);
  const out: AudioChunk[] = [];
  for (let off = 0; off < pcm.length; ) {
    const n = Math.min(pcm.length - off, 1 + Math.floor(rand() * maxPiece));
    out.push(...chunker.push(Buffer.from(pcm.subarray(off, off + n)))); // a copy: the chunker must not rely on the caller's bytes
    off += n;
  }
  return out;
}

/** The samples of a 16 kHz mono 16-bit WAV, found by walking the RIFF chunks. */
function wavData(path: string): Buffer {
  const b = readFileSync(path);
  expect(b.toString('ascii', 0, 4)).toBe('RIFF');
  expect(b.toString('ascii', 8, 12)).toBe('WAVE');
  for (let off = 12; off + 8 <= b.length; ) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      expect([b.readUInt16LE(off + 8), b.readUInt16LE(off + 10), b.readUInt32LE(off + 12), b.readUInt16LE(off + 22)]).toEqual([1, 1, RATE, 16]);
    }
    if (id === 'data') return b.subarray(off + 8, Math.min(b.length, off + 8 + size));
    off += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

describe('AudioChunker', () => {
  it('cuts a 35 s stream pushed in odd-sized pieces into overlapping 10 s chunks that reproduce it', () => {
    const input = ramp(35 * RATE);
    const chunker = new AudioChunker({ chunkMs: 10_000, overlapMs: 2_000 });
    const chunks = feed(chunker, input, 42);
    expect(chunks).toHaveLength(4); // starting at 0, 8, 16 and 24 s
    const tail = chunker.flush();
    expect(tail).toBeDefined();
    chunks.push(tail!);

    expect(chunks.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(chunks.map((c) => c.durationMs)).toEqual([10_000, 10_000, 10_000, 10_000, 3_000]); // tail: 2 s overlap + 1 s new
    expect(chunks.map((c) => c.overlapMs)).toEqual([0, 2_000, 2_000, 2_000, 2_000]);
    const overlapBytes = 2 * RATE * 2;
    for (let k = 0; k + 1 < chunks.length; k++) {
      const prev = chunks[k]!.pcm;
      expect(chunks[k + 1]!.pcm.subarray(0, overlapBytes).equals(prev.subarray(prev.length - overlapBytes)), `overlap ${k}/${k + 1}`).toBe(true);
      expect(chunks[k + 1]!.pcm.readInt16LE(0)).toBe((((k + 1) * 8 * RATE * 7919) & 0xffff) - 32768); // starts at (k+1)·8 s
    }
    const rebuilt = Buffer.concat(chunks.map((c) => c.pcm.subarray((c.overlapMs / 1000) * RATE * 2)));
    expect(rebuilt.length).toBe(input.length);
    expect(rebuilt.equals(input)).toBe(true);
    expect(chunker.stats).toEqual({ chunks: 5, receivedMs: 35_000 });
  });

  it('gives the same chunks for one huge push as for small pieces, and copies pcm out', () => {
    const input = ramp(27 * RATE + 100);
    const a = new AudioChunker();
    const b = new AudioChunker();
    const big = [...a.push(Buffer.from(input)), a.flush()!];
    const small = [...feed(b, input, 7, 301), b.flush()!];
    expect(big.map((c) => c.pcm.length)).toEqual(small.map((c) => c.pcm.length));
    for (let k = 0; k < big.length; k++) expect(big[k]!.pcm.equals(small[k]!.pcm)).toBe(true);
    // a later push must not overwrite emitted chunks
    const first = Buffer.from(small[0]!.pcm);
    feed(b, Buffer.alloc(25 * RATE * 2, 0x55), 8);
    expect(small[0]!.pcm.equals(first)).toBe(true);
  });

  it('keeps its buffer bounded over a long stream (compacts instead of growing)', () => {
    const chunker = new AudioChunker({ chunkMs: 1_000, overlapMs: 200 });
    const chunks = feed(chunker, ramp(120 * RATE), 5, 3001);
    expect(chunks).toHaveLength(149); // starts at 0, 0.8, …, 118.4 s
    const held = (chunker as unknown as { buf: Buffer }).buf; // white-box: the internal byte buffer
    expect(held.length).toBeLessThanOrEqual(2 * RATE * 2 * 2); // at most twice its initial two chunks
  });

  it('starts a new run without overlap after a discontinuity, continuing seq', () => {
    const chunker = new AudioChunker({ chunkMs: 1_000, overlapMs: 200 });
    const run1Input = Buffer.concat([ramp((RATE * 21) / 10), Buffer.from([7])]); // 2.1 s + half a sample
    const run1 = feed(chunker, run1Input, 1); // chunks at 0 and 0.8 s
    expect(run1.map((c) => [c.seq, c.overlapMs])).toEqual([[0, 0], [1, 200]]);
    const tail = chunker.discontinuity(); // 1.6–2.1 s: 0.2 s overlap + 0.3 s new
    expect(tail && [tail.seq, tail.overlapMs, tail.durationMs]).toEqual([2, 200, 500]);
    expect(tail!.pcm.equals(run1Input.subarray(1.6 * RATE * 2, 2.1 * RATE * 2))).toBe(true);
    expect(chunker.discontinuity()).toBeUndefined(); // nothing left
    const run2Input = ramp(RATE * 2).subarray(1000);
    const run2 = feed(chunker, run2Input, 2);
    expect(run2.map((c) => [c.seq, c.overlapMs, c.durationMs])).toEqual([[3, 0, 1_000], [4, 200, 1_000]]);
    expect(run2[0]!.pcm.equals(run2Input.subarray(0, RATE * 2))).toBe(true); // the odd byte of run 1 was dropped
  });

  it('drops a tail with less than minTailMs of new audio', () => {
    const chunker = new AudioChunker({ chunkMs: 1_000, overlapMs: 200 });
    expect(chunker.push(ramp(RATE + (RATE * 249) / 1000))).toHaveLength(1); // 1.249 s: 0.249 s new after the chunk
    expect(chunker.flush()).toBeUndefined();
    expect(chunker.push(ramp((RATE * 249) / 1000))).toHaveLength(0);
    expect(chunker.flush()).toBeUndefined(); // a run shorter than minTailMs
    chunker.push(ramp((RATE * 250) / 1000));
    const tail = chunker.flush();
    expect(tail && [tail.seq, tail.overlapMs, tail.durationMs]).toEqual([1, 0, 250]);
    // a tail of 3945.625 ms (63130 samples) reports whole ms, as the samples table stores them
    const whole = new AudioChunker();
    whole.push(ramp(63_130));
    expect(whole.flush()!.durationMs).toBe(3946);
  });

  it('dates chunks from the run start, which a burst of buffered audio at the start does not skew', () => {
    const t0 = 1_700_000_000_000; // wall clock of the stream's first sample
    let clock = t0 + 2_000; // we connect 2 s in: the server sends those 2 s at once, then audio in real time
    const chunker = new AudioChunker({ now: () => clock });
    const chunks = chunker.push(ramp(2 * RATE));
    const input = ramp(28 * RATE);
    const rand = rng(3);
    for (let off = 0; off < input.length; ) {
      const n = Math.min(input.length - off, 2 * (1 + Math.floor(rand() * 4_000)));
      off += n;
      clock = t0 + 2_000 + ((off / 2) / RATE) * 1000 + 15; // arrives 15 ms after it was produced
      chunks.push(...chunker.push(input.subarray(off - n, off)));
    }
    clock += 5_000; // a late flush does not move the tail
    chunks.push(chunker.flush()!);
    expect(chunks.map((c) => c.seq)).toEqual([0, 1, 2, 3]);
    // the burst put the estimate at t0 exactly (2 s received at t0 + 2 s); real-time pushes cannot lower it
    expect(chunks.map((c) => c.startedAt.getTime() - t0)).toEqual([0, 8_000, 16_000, 24_000]);
    // a new run is anchored afresh
    clock += 60_000;
    const [next] = chunker.push(ramp(10 * RATE));
    expect(next!.startedAt.getTime()).toBe(clock - 10_000);
  });

  it('validates its options', () => {
    expect(() => new AudioChunker({ chunkMs: 0 })).toThrow(RangeError);
    expect(() => new AudioChunker({ chunkMs: -5 })).toThrow(RangeError);
    expect(() => new AudioChunker({ overlapMs: -1 })).toThrow(RangeError);
    expect(() => new AudioChunker({ chunkMs: 4_000, overlapMs: 2_000 })).toThrow(RangeError);
    expect(() => new AudioChunker({ chunkMs: 4_000, overlapMs: 1_999 })).not.toThrow();
    expect(() => new AudioChunker({ chunkMs: 4_000, overlapMs: 0 })).not.toThrow();
  });
});

describe('detectSpeech', () => {
  function sine(freq: number, peakDbfs: number, seconds: number): Buffer {
    const amp = 32768 * 10 ** (peakDbfs / 20);
    const b = Buffer.alloc(seconds * RATE * 2);
    for (let i = 0; i < seconds * RATE; i++) b.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * freq * i) / RATE)), i * 2);
    return b;
  }

  it('finds no speech in digital silence and clamps its level', () => {
    expect(detectSpeech(Buffer.alloc(RATE * 2))).toEqual({ speech: false, voicedMs: 0, rmsDbfs: FLOOR_DBFS, peakDbfs: FLOOR_DBFS });
    expect(detectSpeech(Buffer.alloc(0)).speech).toBe(false);
  });

  it('finds no speech in low white noise at -60 dBFS', () => {
    const rand = rng(9);
    const a = 32768 * 10 ** (-60 / 20) * Math.sqrt(3); // uniform noise with RMS at -60 dBFS
    const b = Buffer.alloc(3 * RATE * 2);
    for (let i = 0; i < 3 * RATE; i++) b.writeInt16LE(Math.round((rand() * 2 - 1) * a), i * 2);
    const act = detectSpeech(b);
    expect(act.rmsDbfs).toBeGreaterThan(-61);
    expect(act.rmsDbfs).toBeLessThan(-59);
    expect(act).toMatchObject({ speech: false, voicedMs: 0 });
  });

  it('finds speech in a LibriVox recording', () => {
    if (!existsSync(LIBRIVOX)) throw new Error(`${LIBRIVOX} missing: run bash scripts/setup.sh`);
    const wavs = readdirSync(LIBRIVOX).filter((f) => f.endsWith('.wav'));
    expect(wavs.length).toBeGreaterThan(0);
    for (const f of wavs) {
      const pcm = wavData(join(LIBRIVOX, f));
      const act = detectSpeech(pcm);
      expect(act.speech, f).toBe(true);
      expect(act.voicedMs, f).toBeGreaterThan(1_000);
      expect(act.rmsDbfs, f).toBeGreaterThan(-45);
      // attenuated by 60 dB, the same speech is below the gate
      const quiet = Buffer.alloc(pcm.length & ~1);
      for (let i = 0; i < quiet.length; i += 2) quiet.writeInt16LE(Math.round(pcm.readInt16LE(i) / 1000), i);
      expect(detectSpeech(quiet).speech, `${f} at -60 dB`).toBe(false);
    }
  });

  it('counts a loud tone as speech: it is an energy gate', () => {
    const act = detectSpeech(sine(1_000, -20, 2));
    expect(act.speech).toBe(true);
    expect(act.voicedMs).toBeCloseTo(2_000, 6);
    expect(act.peakDbfs).toBeCloseTo(-20, 1);
    expect(act.rmsDbfs).toBeCloseTo(-23.01, 1);
  });

  it('needs minVoicedMs of voiced frames', () => {
    const b = Buffer.alloc(2 * RATE * 2);
    // 0.26 s of tone in 2 s of silence: 8 full frames + 1 frame two-thirds tone = 270 ms voiced
    sine(1_000, -20, 1).copy(b, 0, 0, (RATE * 260 * 2) / 1000);
    expect(detectSpeech(b).voicedMs).toBeCloseTo(270, 6);
    expect(detectSpeech(b).speech).toBe(false);
    expect(detectSpeech(b, { minVoicedMs: 250 }).speech).toBe(true);
  });

  it('gives the same result for an odd byteOffset as for an aligned buffer', () => {
    const rand = rng(11);
    const aligned = sine(440, -30, 1);
    for (let i = 0; i < aligned.length; i += 2) aligned.writeInt16LE(aligned.readInt16LE(i) + Math.round((rand() - 0.5) * 200), i);
    const backing = Buffer.alloc(aligned.length + 2);
    aligned.copy(backing, 1);
    const odd = backing.subarray(1, 1 + aligned.length);
    expect(odd.byteOffset % 2).toBe(1);
    expect(odd.equals(aligned)).toBe(true);
    expect(detectSpeech(odd)).toEqual(detectSpeech(aligned));
    expect(detectSpeech(backing.subarray(1, 2 + aligned.length))).toEqual(detectSpeech(aligned)); // trailing odd byte ignored
  });
});
