// Faces on camera with face-api on real photos (the samples shipped with @vladmandic/face-api): face counts, a
// face matching a rescaled, re-encoded, slightly rotated copy of itself while different people do not, no tensor
// leak, the detector, recognition and age networks compiled to ONNX giving what TF.js gives (and not used once altered); and in the pipeline (real Postgres and Redis, the default policy): a frame with a face estimated under the
// age margin opens a critical case in the minor-safety queue.
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { FaceAnalyzer, SAME_FACE_MAX_DISTANCE, faceSignals } from '../analyzer/faces/index.ts';
import { insertSample, openBroadcast, schema } from '../db/index.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer } from '../bin/seed.ts';
import { sealDescriptor } from '../core/sealed.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const photo = (n: number) => path.join(root, 'node_modules/@vladmandic/face-api/demo', `sample${n}.jpg`);
const at = (n: number, height: number) => sharp(photo(n)).resize({ height }).jpeg({ quality: 85 }).toBuffer();

describe('face analyzer', () => {
  let faces: FaceAnalyzer;
  beforeAll(async () => {
    setWasmPaths(path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
    await tf.setBackend('wasm');
    faces = await FaceAnalyzer.load();
  });

  it('counts faces and estimates ages; nobody in an empty frame', async () => {
    const group = await faces.analyze(await at(1, 720));
    expect(group.faces).toHaveLength(3);
    for (const f of group.faces) {
      expect(f.age).toBeGreaterThan(10);
      expect(f.age).toBeLessThan(60);
      expect(f.descriptor).toHaveLength(128);
    }
    const empty = await faces.analyze(await sharp({ create: { width: 640, height: 360, channels: 3, background: '#335' } }).jpeg().toBuffer());
    expect(empty.faces).toHaveLength(0);
    expect(faceSignals(empty, 21)).toMatchObject({ face_present: 0, no_face: 1, under_age_margin: 0 });
  });

  it('matches a face with a rescaled, re-encoded, rotated copy of itself, and not with other people', async () => {
    const original = (await faces.analyze(await at(2, 720))).faces;
    expect(original).toHaveLength(1);
    const copy = await sharp(await sharp(photo(2)).rotate(4, { background: '#000' }).resize({ height: 500 }).jpeg({ quality: 60 }).toBuffer()).toBuffer();
    // the smaller copy lets the detector find a second person on the sofa too: the performer is the nearest face
    const again = (await faces.analyze(copy)).faces.map((f) => FaceAnalyzer.distance(original[0]!.descriptor, f.descriptor)).sort((a, b) => a - b);
    expect(again.length).toBeGreaterThanOrEqual(1);
    const same = again[0]!;
    expect(same).toBeLessThan(SAME_FACE_MAX_DISTANCE);
    const others = [...again.slice(1)];
    for (const n of [1, 3, 4, 5]) for (const f of (await faces.analyze(await at(n, 720))).faces) others.push(FaceAnalyzer.distance(original[0]!.descriptor, f.descriptor));
    expect(others.length).toBeGreaterThan(10);
    console.log(`same face ${same.toFixed(3)}; other people min ${Math.min(...others).toFixed(3)} over ${others.length} faces`);
    expect(Math.min(...others)).toBeGreaterThanOrEqual(SAME_FACE_MAX_DISTANCE);
    // the signals: with the performer's descriptor as reference, the copy has the performer and someone else
    const signals = faceSignals(await faces.analyze(copy), 21, { descriptor: original[0]!.descriptor, maxDistance: SAME_FACE_MAX_DISTANCE });
    expect(signals.performer_on_camera).toBe(1);
    expect(signals.unmatched_face).toBe(again.length > 1 ? 1 : 0);
  });

  it('leaves no tensors behind', async () => {
    const image = await at(5, 360);
    await faces.analyze(image);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await faces.analyze(image);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs the detector, landmark, recognition and age networks compiled to ONNX, finding, aligning, describing and ageing faces as face-api on TF.js does', async () => {
    expect(faces.backends).toEqual({ detector: 'onnxruntime', landmarks: 'onnxruntime', recognition: 'onnxruntime', age: 'onnxruntime' });
    expect(faces.notes).toEqual([]);
    const reference = await FaceAnalyzer.load({ networks: 'tfjs' });
    expect(reference.backends).toEqual({ detector: 'tfjs', landmarks: 'tfjs', recognition: 'tfjs', age: 'tfjs' });
    try {
      for (const n of [1, 2, 3, 4, 5, 6]) {
        const image = await at(n, 360);
        // one FaceAnalyzer per process is the rule (face-api's nets are shared); loading the reference made the
        // TF.js network current, so the ONNX one is measured by loading it again
        const [b] = [await reference.analyze(image)];
        const compiled = await FaceAnalyzer.load();
        const a = await compiled.analyze(image);
        expect(a.faces.length).toBe(b.faces.length);
        a.faces.forEach((f, i) => {
          const g = b.faces[i]!;
          expect(Math.abs(f.score - g.score)).toBeLessThan(1e-3);
          for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(f.box[k] - g.box[k])).toBeLessThanOrEqual(1);
          expect(Math.abs(f.age - g.age)).toBeLessThan(0.01);
          expect(FaceAnalyzer.distance(f.descriptor, g.descriptor)).toBeLessThan(0.01);
        });
      }
    } finally {
      faces = await FaceAnalyzer.load();
    }
  });

  it('keeps face-api\'s TF.js detector when the cached compiled model was altered', async () => {
    const { default: onnxProto } = await import('onnx-proto');
    const { compileTinyFaceDetector } = await import('../analyzer/onnx/face-detector.ts');
    const { writeFile } = await import('node:fs/promises');
    const dir = path.join(root, 'data', `face-model-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    const first = await FaceAnalyzer.load({ modelCacheDir: dir }); // compiles, verifies, caches
    expect(first.backends.detector).toBe('onnxruntime');
    const file = (await import('node:fs')).readdirSync(dir).find((f) => f.includes('tiny_face_detector') && f.endsWith('.onnx'))!;
    // the final layer's biases shifted by 1: a model that still runs, and answers differently
    const model = onnxProto.onnx.ModelProto.decode(compileTinyFaceDetector().bytes);
    const bias = model.graph!.initializer!.find((t) => t.name === 'conv8/B')!;
    const values = new Float32Array(new Uint8Array(bias.rawData!).slice().buffer);
    for (let i = 0; i < values.length; i++) values[i]! += 1;
    bias.rawData = new Uint8Array(values.buffer);
    await writeFile(path.join(dir, file), onnxProto.onnx.ModelProto.encode(model).finish());
    try {
      const again = await FaceAnalyzer.load({ modelCacheDir: dir });
      expect(again.backends).toEqual({ detector: 'tfjs', landmarks: 'onnxruntime', recognition: 'onnxruntime', age: 'onnxruntime' });
      expect(again.notes.join()).toMatch(/tiny_face_detector: the compiled network differs from face-api's/);
      expect((await again.analyze(await at(1, 720))).faces).toHaveLength(3);
    } finally {
      (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
      faces = await FaceAnalyzer.load();
    }
  });
});

describe('live face checks in the pipeline', () => {
  let env: TestEnv;
  let warden: WardenHandle;
  beforeAll(async () => {
    env = await createTestEnv();
    env.config.analyzer.faceEveryN = 1;
    warden = await startWarden(env.ctx, { workers: true });
  }, 120_000);
  afterAll(async () => {
    await warden?.stop();
    await env?.cleanup();
  });

  /** A verified performer live on a broadcast; `descriptor`: their face on record, sealed with `key` (default the env's). */
  async function liveBroadcast(handle: string, descriptor?: { of: Float32Array; key?: string }) {
    const p = await seedPerformer(env.ctx.db, handle, { verified: !descriptor });
    if (descriptor) {
      const [v] = await env.ctx.db.insert(schema.verifications).values({ userId: p.userId, status: 'approved', method: 'document', decidedAt: new Date(), expiresAt: new Date(Date.now() + 86_400_000) }).returning();
      await env.ctx.db.update(schema.verifications).set({ faceDescriptor: sealDescriptor(descriptor.key ?? env.config.dataKey!, descriptor.of, `verification:${v!.id}:descriptor`) }).where(sql`id = ${v!.id}`);
    }
    const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${p.userId}`);
    const { id } = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: key!.id, ingestNode: env.config.nodeId });
    await mkdir(path.join(env.config.dataDir, 'samples', id), { recursive: true });
    return id;
  }
  /** Queues one frame of a broadcast, as the tap would (640-class JPEG, one sample row, one job). */
  async function frame(broadcastId: string, seq: number, image: Buffer) {
    const rel = path.join('samples', broadcastId, `${String(seq).padStart(7, '0')}.jpg`);
    await sharp(image).resize({ height: 360 }).jpeg({ quality: 85 }).toFile(path.join(env.config.dataDir, rel));
    const s = await insertSample(env.ctx.db, { broadcastId, kind: 'frame', seq, capturedAt: new Date(), filePath: rel });
    await env.ctx.queues.add('analyze-frame', { sampleId: s.id });
    return s.id;
  }
  const caseOf = (broadcastId: string, reason: string) => waitFor(async () => {
    const rows = await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId} and reason = ${reason}`);
    return rows[0] ?? null;
  }, `the ${reason} case`, 60_000);
  const facesOf = async (sampleId: string) => Object.fromEntries((await env.ctx.db.select().from(schema.signals).where(sql`sample_id = ${sampleId} and analyzer = 'faces'`)).map((x) => [x.label, x.score]));
  const analysed = (ids: string[]) => waitFor(async () => {
    const rows = await env.ctx.db.select().from(schema.samples).where(sql`id in ${ids} and status = 'analysed'`);
    return rows.length === ids.length;
  }, 'the frames analysed', 60_000);

  it('a frame with a face estimated under the margin opens a critical case in the minor-safety queue', async () => {
    const broadcastId = await liveBroadcast('faces-performer');
    // a face from sample 6 that face-api estimates at 17.6–19.9 years however it is scaled or re-encoded (measured);
    // a borderline face (sample 2: 19.0–21.4 by size) would make the test about the model's noise, not the pipeline
    const s = await frame(broadcastId, 0, await sharp(photo(6)).extract({ left: 400, top: 150, width: 750, height: 700 }).toBuffer());
    const c = await caseOf(broadcastId, 'possible_minor.flag');
    expect(c).toMatchObject({ priority: 'critical', queue: 'minor_safety', status: 'open' });
    expect(await facesOf(s)).toMatchObject({ face_present: 1, under_age_margin: 1, face_count: 0.1 });
  });

  it('someone who is not the verified performer, seen in three checks, opens a case; the performer alone does not', async () => {
    const faces = await FaceAnalyzer.load();
    const performer = (await faces.analyze(await at(2, 720))).faces[0]!.descriptor;
    const broadcastId = await liveBroadcast('faces-verified', { of: performer });
    // the performer alone, cropped from a re-encoded copy: matched, nobody else
    const alone = await sharp(photo(2)).extract({ left: 1300, top: 0, width: 620, height: 1000 }).rotate(3, { background: '#000' }).jpeg({ quality: 70 }).toBuffer();
    const own = await frame(broadcastId, 0, alone);
    await analysed([own]);
    expect(await facesOf(own)).toMatchObject({ performer_on_camera: 1, unmatched_face: 0 });
    // other people (sample 3: three strangers) in three checks
    const ids = [];
    for (let seq = 1; seq <= 3; seq++) ids.push(await frame(broadcastId, seq, await sharp(photo(3)).toBuffer()));
    const c = await caseOf(broadcastId, 'unverified-person');
    expect(c).toMatchObject({ priority: 'high', status: 'open' });
    for (const id of ids) expect(await facesOf(id)).toMatchObject({ performer_on_camera: 0, unmatched_face: 1 });
  });

  it('a face check that cannot run is recorded as failed and, twice in a minute, opens a case — never "nobody there"', async () => {
    const performer = Float32Array.from({ length: 128 }, (_, i) => Math.cos(i) / 10);
    // the descriptor was sealed under another key: it does not open, so the check fails
    const broadcastId = await liveBroadcast('faces-broken', { of: performer, key: randomBytes(32).toString('hex') });
    const a = await frame(broadcastId, 0, await sharp(photo(3)).toBuffer());
    const b = await frame(broadcastId, 1, await sharp(photo(3)).toBuffer());
    const c = await caseOf(broadcastId, 'face-check-failure');
    expect(c).toMatchObject({ priority: 'normal' });
    for (const id of [a, b]) expect(await facesOf(id)).toEqual({ analysis_failed: 1 });
    // the NSFW scores of those frames stand
    const nsfw = await env.ctx.db.select().from(schema.signals).where(sql`sample_id = ${a} and analyzer = 'nsfw'`);
    expect(nsfw).toHaveLength(5);
  });
});
