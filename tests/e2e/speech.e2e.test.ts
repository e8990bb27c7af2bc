// End to end, speech: a real RTMP publish whose audio is LibriVox speech with watch-list phrases spoken by
// espeak-ng between the sentences. The tap's audio chunks are transcribed by PocketSphinx in the audio worker,
// the findings go through the default policy's rules, and cases open whose evidence serves the right seconds
// of audio (checked by transcribing the served clip again) with the transcript. Live captions come out as
// WebVTT. Slow: run alone with `npm run test:e2e`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { schema } from '../../db/index.ts';
import type { PublishEvent } from '../../ingest/index.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedPerformer, seedSession } from '../../bin/seed.ts';
import { buildDemoVideo, publishRtmp } from '../../bin/demo-media.ts';
import { PocketsphinxTranscriber } from '../../analyzer/audio/index.ts';
import { readWavInfo } from '../../analyzer/audio/index.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let env: TestEnv;
let warden: WardenHandle;
let video: string;
const events: PublishEvent[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'warden-speech-e2e-'));

beforeAll(async () => {
  env = await createTestEnv(); // the default policy: rules/policy.yaml with its spoken watch-list
  [warden, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true, workers: true }),
    // phrases at about 7 s, 11.5 s and 19 s of the stream, between LibriVox sentences
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 30, spoken: ['i will kill you', 'add me on snapchat', 'what is your phone number'] }),
  ]);
  warden.ingest!.events.on('publish', (e: PublishEvent) => events.push(e));
}, 180_000);
afterAll(async () => {
  await warden?.stop();
  await env?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

interface SpeechEvidence {
  kind: 'speech';
  audio: { sampleId: string; start: number; end: number; url: string; broadcastOffsetS: number };
  findings: { source: string; rule: string; severity: string; start: number; end: number }[];
  transcript: string;
  engine: string;
}

describe('speech, end to end over RTMP', () => {
  it('opens cases for a spoken threat and a request for contact details, with playable audio evidence, and offers captions', async () => {
    const performer = await seedPerformer(env.ctx.db, 'e2e-speaker', { verified: true });
    const pub = publishRtmp(video, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${performer.streamKey}`);
    const accepted = await waitFor(() => events.find((e) => e.type === 'accepted'), 'publish accepted', 15_000);
    const broadcastId = (accepted as { broadcastId: string }).broadcastId;
    await pub.exited; // the whole 30 s file was sent
    await waitFor(() => events.some((e) => e.type === 'ended'), 'broadcast ended', 15_000);
    await waitFor(async () => (await env.ctx.db.select().from(schema.samples).where(sql`broadcast_id = ${broadcastId} and kind = 'audio' and status = 'queued'`)).length === 0, 'audio samples transcribed', 60_000);

    // chunks: 10 s with 2 s overlap, all of them speech here, each with a stored transcript
    const chunks = await env.ctx.db.select().from(schema.samples).where(sql`broadcast_id = ${broadcastId} and kind = 'audio'`).orderBy(schema.samples.seq);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks[0]).toMatchObject({ seq: 0, overlapMs: 0, durationMs: 10_000, status: 'analysed' });
    expect(chunks[1]).toMatchObject({ seq: 1, overlapMs: 2000, durationMs: 10_000 });
    const transcripts = await env.ctx.db.select().from(schema.transcripts).where(sql`broadcast_id = ${broadcastId}`);
    expect(transcripts.length).toBe(chunks.filter((c) => c.status === 'analysed').length);
    expect(transcripts[0]).toMatchObject({ engine: 'pocketsphinx/en-us', language: 'en-us' });
    expect(transcripts[0]!.engineVersion).toMatch(/^0\.8/);

    const cases = await waitFor(async () => {
      const rows = await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId} and reason like 'spoken_%'`);
      return rows.some((c) => c.reason === 'spoken_threat.flag') && rows.some((c) => c.reason === 'spoken_contact.flag') ? rows : null;
    }, 'spoken_threat and spoken_contact cases', 30_000);
    expect(cases.find((c) => c.reason === 'spoken_threat.flag')).toMatchObject({ priority: 'urgent', status: 'open', userId: performer.userId });
    expect(cases.find((c) => c.reason === 'spoken_contact.flag')).toMatchObject({ priority: 'high' });
    expect(cases.map((c) => c.reason)).not.toContain('spoken_minor.flag'); // nobody said that

    const moderator = await seedSession(env.ctx.db, 'e2e-moderator', 'moderator');
    const viewer = await seedSession(env.ctx.db, 'e2e-viewer', 'viewer');
    const transcriber = new PocketsphinxTranscriber();
    for (const [reason, phrase, near] of [['spoken_threat.flag', 'i will kill you', 7.2], ['spoken_contact.flag', 'what is your phone number', 19]] as const) {
      const c = cases.find((x) => x.reason === reason)!;
      const evidence = await env.ctx.db.select().from(schema.caseEvidence).where(sql`case_id = ${c.id}`);
      const speech = evidence.map((e) => e.details as Partial<SpeechEvidence>).find((d) => d.kind === 'speech' && d.findings?.some((f) => f.rule === `keyword:${phrase}` || f.rule === `sounds-like:${phrase}`));
      expect(speech, `${reason} evidence for "${phrase}"`).toBeDefined();
      expect(speech!.transcript!.length).toBeGreaterThan(20);
      expect(speech!.engine).toMatch(/^pocketsphinx\/en-us 0\.8/);
      // the span sits where the phrase was spoken in the stream (the chunk timing is wall clock, so roughly)
      expect(Math.abs(speech!.audio!.broadcastOffsetS - near)).toBeLessThan(4);

      // a moderator can play it; it is the phrase: the served clip, transcribed on its own, holds it
      const url = `${warden.httpUrl}${speech!.audio!.url}`;
      const res = await fetch(url, { headers: { cookie: `warden_session=${moderator.token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/wav');
      const wav = Buffer.from(await res.arrayBuffer());
      const info = readWavInfo(wav);
      expect(info).toMatchObject({ sampleRate: 16_000, channels: 1 });
      expect(info.durationS).toBeCloseTo(speech!.audio!.end - speech!.audio!.start, 1);
      expect(info.durationS).toBeLessThan(6);
      const file = path.join(tmp, `${reason}.wav`);
      writeFileSync(file, wav);
      const again = await transcriber.transcribe(file, { keyphrases: [{ phrase }] });
      expect(again.keywords.map((k) => k.phrase), `the served clip holds "${phrase}"`).toContain(phrase);

      // nobody else may: not signed in, or a viewer
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { cookie: `warden_session=${viewer.token}` } })).status).toBe(403);
    }

    // bad span: a clear 400 naming the problem
    const anyChunk = chunks.find((c) => c.status === 'analysed')!;
    const bad = await fetch(`${warden.httpUrl}/api/samples/${anyChunk.id}/audio?start=9&end=3`, { headers: { cookie: `warden_session=${moderator.token}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBeDefined();

    // captions: WebVTT cues in order, the transcript's words, for a signed-in adult viewer
    const vtt = await fetch(`${warden.httpUrl}/api/broadcasts/${broadcastId}/captions.vtt`, { headers: { cookie: `warden_session=${viewer.token}` } });
    expect(vtt.status).toBe(200);
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/);
    const body = await vtt.text();
    expect(body.startsWith('WEBVTT\n\n')).toBe(true);
    const cues = [...body.matchAll(/(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n([^\n]+(?:\n[^\n]+)?)/g)].map((m) => ({
      start: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000,
      end: Number(m[5]) * 3600 + Number(m[6]) * 60 + Number(m[7]) + Number(m[8]) / 1000,
      text: m[9]!,
    }));
    expect(cues.length, body).toBeGreaterThanOrEqual(4); // about 80 words in 30 s, at most 6 s a cue
    for (let i = 0; i < cues.length; i++) {
      expect(cues[i]!.end).toBeGreaterThan(cues[i]!.start);
      if (i > 0) expect(cues[i]!.start).toBeGreaterThanOrEqual(cues[i - 1]!.end);
    }
    expect(cues.at(-1)!.end).toBeLessThan(40);
    expect(body).toMatch(/kill you/);
    const later = await (await fetch(`${warden.httpUrl}/api/broadcasts/${broadcastId}/captions.vtt?from=20`, { headers: { cookie: `warden_session=${viewer.token}` } })).text();
    expect(later.length).toBeLessThan(body.length);
    expect(later).not.toMatch(/kill you/);
    expect((await fetch(`${warden.httpUrl}/api/broadcasts/${broadcastId}/captions.vtt`)).status).toBe(401);
    // the words said on stream are behind the age gate, as its pictures are
    const unattested = await seedSession(env.ctx.db, 'speech-unattested', 'viewer', { adult: false });
    const refused = await fetch(`${warden.httpUrl}/api/broadcasts/${broadcastId}/captions.vtt`, { headers: { cookie: `warden_session=${unattested.token}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('age_unverified');

    const metrics = await (await fetch(`${warden.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/warden_samples_total\{kind="audio",status="queued"\} [1-9]/);
    expect(metrics).toMatch(/warden_signals_total\{analyzer="speech",backend="cpu"\} [1-9]/);
  }, 150_000);
});
