/**
 * Fixtures for the moderation API tests: users of every role with sessions, a performer with a live broadcast
 * and a frame sample, cases opened the way the rules open them, and a JSON client over `app.request`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Hono } from 'hono';
import { addEvidence, insertSample, keyStanding, openBroadcast, openOrJoinCase, recordSignals, type Db, type Priority, type Role } from '../db/index.ts';
import { hashStreamKey } from '../ingest/index.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';

/** A JSON client for an in-process app, signed in with a Bearer session token (no CSRF token needed). */
export function client(app: Hono, token?: string) {
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await app.request(`http://localhost${url}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = null; // eslint-disable-line @typescript-eslint/no-explicit-any
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: res.status, body: json, headers: res.headers };
  };
  return {
    get: (url: string) => call('GET', url),
    post: (url: string, body: unknown = {}) => call('POST', url, body),
  };
}

export interface Staff { userId: string; token: string; handle: string }

/** Signs in one user per role (and a second moderator and senior, for "someone else" checks). */
export async function seedStaff(db: Db, tag: string): Promise<Record<'viewer' | 'performer' | 'moderator' | 'moderator2' | 'senior' | 'senior2' | 'admin', Staff>> {
  const mk = async (handle: string, role: Role) => ({ handle, ...(await seedSession(db, handle, role)) });
  return {
    viewer: await mk(`viewer-${tag}`, 'viewer'),
    performer: await mk(`performer-${tag}`, 'performer'),
    moderator: await mk(`mod-${tag}`, 'moderator'),
    moderator2: await mk(`mod2-${tag}`, 'moderator'),
    senior: await mk(`senior-${tag}`, 'senior_moderator'),
    senior2: await mk(`senior2-${tag}`, 'senior_moderator'),
    admin: await mk(`admin-${tag}`, 'admin'),
  };
}

/** A real photo (face-api's sample, shipped in its npm package). */
const FRAME = readFileSync(new URL('../node_modules/@vladmandic/face-api/demo/sample1.jpg', import.meta.url));

/** A verified performer with a live broadcast and one analysed frame (a real JPEG) scored `Porn: score`. */
export async function seedBroadcast(db: Db, dataDir: string, handle: string, score = 0.93) {
  const { userId, streamKey } = await seedPerformer(db, handle, { verified: true });
  const standing = (await keyStanding(db, hashStreamKey(streamKey)))!;
  const b = await openBroadcast(db, { userId, streamKeyId: standing.streamKeyId, ingestNode: 'test' });
  const rel = path.join('samples', b.id, '0000001.jpg');
  await mkdir(path.join(dataDir, 'samples', b.id), { recursive: true });
  await writeFile(path.join(dataDir, rel), FRAME);
  const sample = await insertSample(db, { broadcastId: b.id, kind: 'frame', seq: 1, capturedAt: new Date(), filePath: rel, width: 320, height: 240, phash: '0000000000000000' });
  await recordSignals(db, { id: sample.id, broadcastId: b.id, capturedAt: new Date() }, [
    { analyzer: 'nsfw', label: 'Porn', score, model: 'nsfwjs', modelVersion: 'test', backend: 'test' },
    { analyzer: 'nsfw', label: 'Neutral', score: 1 - score, model: 'nsfwjs', modelVersion: 'test', backend: 'test' },
  ]);
  return { userId, streamKey, broadcastId: b.id, sampleId: sample.id };
}

/** Opens a case as the rules would (reason a rule id), with the frame as evidence. */
export async function seedCase(db: Db, b: { userId: string; broadcastId: string; sampleId: string }, reason = 'sexual_explicit.flag', priority: Priority = 'high', queue = 'general') {
  const c = await openOrJoinCase(db, {
    subjectType: 'broadcast', subjectId: b.broadcastId, broadcastId: b.broadcastId, userId: b.userId, reasonType: 'rule', reason,
    priority, slaDueAt: new Date(Date.now() + 3600_000), policyVersion: 'test', queue,
  });
  await addEvidence(db, { caseId: c.id, sampleId: b.sampleId, ruleId: reason, details: { label: 'Porn', score: 0.93, reason: 'test' } });
  return c.id;
}
