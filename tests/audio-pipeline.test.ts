// The audio pipeline on real Postgres and Redis, without RTMP: chunk jobs → PocketSphinx → transcripts and
// speech signals → rules → a case; idempotent on retry; a broken chunk is marked failed, not retried forever.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { insertSample, openBroadcast, schema } from '../db/index.ts';
import { runFfmpeg } from '../ingest/ffmpeg.ts';
import { AudioChunker } from '../ingest/audio-chunker.ts';
import { readWavInfo } from '../analyzer/audio/index.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer } from '../bin/seed.ts';
import { synthesiseSpeech } from '../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-';
let env: TestEnv;
let warden: WardenHandle;
let broadcastId: string;
let seq = 0;

beforeAll(async () => {
  env = await createTestEnv(); // the default policy and its spoken watch-list
  warden = await startWarden(env.ctx, { workers: true });
  const p = await seedPerformer(env.ctx.db, 'audio-performer', { verified: true });
  const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${p.userId}`);
  ({ id: broadcastId } = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: key!.id, ingestNode: env.config.nodeId }));
}, 60_000);
afterAll(async () => {
  await warden?.stop();
  await env?.cleanup();
});

/** Stores a WAV as the next audio sample of the broadcast and queues its transcription. */
async function addChunk(wav: Buffer, durationMs = Math.round(readWavInfo(wav, { partial: true }).durationS * 1000)): Promise<string> {
  const n = seq++;
  const rel = path.join('samples', broadcastId, `audio-${String(n).padStart(7, '0')}.wav`);
  await mkdir(path.join(env.config.dataDir, 'samples', broadcastId), { recursive: true });
  await writeFile(path.join(env.config.dataDir, rel), wav);
  const s = await insertSample(env.ctx.db, { broadcastId, kind: 'audio', seq: n, capturedAt: new Date(), filePath: rel, durationMs, overlapMs: 0 });
  await env.ctx.queues.add('transcribe-audio', { sampleId: s.id });
  return s.id;
}
const sampleRow = async (id: string) => (await env.ctx.db.select().from(schema.samples).where(sql`id = ${id}`))[0]!;

describe('audio pipeline', () => {
  it('transcribes a chunk with a spoken threat, stores transcript and signals, opens an urgent case; a retried job changes nothing', async () => {
    const tmp = path.join(os.tmpdir(), `warden-audio-${process.pid}`);
    await mkdir(tmp, { recursive: true });
    await synthesiseSpeech('i will kill you', path.join(tmp, 'phrase.wav'));
    const list = path.join(tmp, 'list.txt');
    await writeFile(list, [`${LIBRIVOX}0870.wav`, path.join(tmp, 'phrase.wav'), `${LIBRIVOX}0880.wav`].map((f) => `file '${f}'`).join('\n'));
    await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'concat', '-safe', '0', '-i', list, '-c:a', 'pcm_s16le', '-y', path.join(tmp, 'mix.wav')]);
    const id = await addChunk(await readFile(path.join(tmp, 'mix.wav')));
    await waitFor(async () => (await sampleRow(id)).status === 'analysed', 'chunk transcribed', 60_000);

    const [t] = await env.ctx.db.select().from(schema.transcripts).where(sql`sample_id = ${id}`);
    expect(t).toMatchObject({ broadcastId, engine: 'pocketsphinx/en-us', language: 'en-us' });
    expect(t!.text.split(' ').length).toBeGreaterThan(20);
    expect((t!.keywords as { phrase: string }[]).map((k) => k.phrase)).toContain('i will kill you');
    expect((t!.findings as { category: string }[]).some((f) => f.category === 'threat')).toBe(true);
    const signals = await env.ctx.db.select().from(schema.signals).where(sql`sample_id = ${id}`);
    expect(signals.find((s) => s.label === 'threat')).toMatchObject({ analyzer: 'speech', score: 0.8, model: 'pocketsphinx/en-us' });

    const c = await waitFor(async () => (await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId} and reason = 'spoken_threat.flag'`))[0], 'spoken_threat case');
    expect(c.priority).toBe('urgent');
    const [ev] = await env.ctx.db.select().from(schema.caseEvidence).where(sql`case_id = ${c.id}`);
    const details = ev!.details as { kind: string; audio: { start: number; end: number; sampleId: string }; transcript: string };
    expect(details.kind).toBe('speech');
    expect(details.audio.sampleId).toBe(id);
    expect(details.audio.start).toBeGreaterThan(5); // the phrase follows the 7.1 s sentence (plus 1 s context)
    expect(details.audio.end).toBeLessThan(10.5);
    expect(details.transcript).toBe(t!.text);

    // the same job again (a retry): no second transcript, no more signals, no second case
    await env.ctx.queues.add('transcribe-audio', { sampleId: id }, { jobId: `retry-${id}` });
    await new Promise((r) => setTimeout(r, 3000));
    expect(await env.ctx.db.select().from(schema.transcripts).where(sql`sample_id = ${id}`)).toHaveLength(1);
    expect(await env.ctx.db.select().from(schema.signals).where(sql`sample_id = ${id}`)).toHaveLength(signals.length);
    expect(await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId}`)).toHaveLength(1);
  }, 90_000);

  it('marks a chunk that is not audio failed, with the reason, and goes on', async () => {
    const id = await addChunk(Buffer.from('RIFF....WAVEnot really audio at all'), 10_000);
    await waitFor(async () => (await sampleRow(id)).status === 'failed', 'chunk failed', 30_000);
    expect((await sampleRow(id)).error).toMatch(/cannot decode/);
    expect(await env.ctx.db.select().from(schema.transcripts).where(sql`sample_id = ${id}`)).toHaveLength(0);
  }, 60_000);

  it('the chunker\'s energy gate marks silence silent and a recording as speech', async () => {
    const chunker = new AudioChunker({ chunkMs: 2000, overlapMs: 500 });
    const speech = await readFile(`${LIBRIVOX}0890.wav`);
    const info = readWavInfo(speech);
    const chunks = [...chunker.push(Buffer.alloc(16_000 * 2 * 3)), ...chunker.push(speech.subarray(info.dataOffset, info.dataOffset + 16_000 * 2 * 4))];
    // 0–2 s silence; 1.5–3.5 s the silence's end and the recording's first half second; 3–5 s and 4.5–6.5 s speech
    expect(chunks).toHaveLength(4);
    expect(chunks[0]!.activity).toMatchObject({ speech: false, voicedMs: 0 });
    expect(chunks.slice(2).map((c) => c.activity.speech)).toEqual([true, true]);
    expect(chunks[0]!.activity.rmsDbfs).toBe(-120);
  });
});
