// The warden CLI as a user runs it: configuration errors, unreachable services, migrate and `rules test`.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../core/config.ts';
import { insertSample, openBroadcast, recordSignals, schema } from '../db/index.ts';
import { seedPerformer } from '../bin/seed.ts';
import { sql } from 'drizzle-orm';
import { createTestEnv, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Runs bin/warden with the given environment; resolves with exit code and output. */
function warden(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'bin/warden'), args, { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, LOG_LEVEL: 'silent', ...env }, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) child.stdin!.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => { stdout += b; });
    child.stderr!.on('data', (b) => { stderr += b; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/warden', redisUrl: 'redis://127.0.0.1:6379', http: { port: 8080 }, rtmp: { port: 1935 }, tap: { sampleIntervalMs: 2000 } });
    expect(path.isAbsolute(c.dataDir)).toBe(true);
  });
  it('names every invalid variable', () => {
    expect(() => loadConfig({ HTTP_PORT: 'eighty', DATABASE_URL: 'not a url', SAMPLE_INTERVAL_S: '-1' })).toThrow(ConfigError);
    try {
      loadConfig({ HTTP_PORT: 'eighty', DATABASE_URL: 'not a url' });
    } catch (e) {
      expect((e as Error).message).toMatch(/HTTP_PORT/);
      expect((e as Error).message).toMatch(/DATABASE_URL/);
    }
  });
});

describe('warden CLI', () => {
  let env: TestEnv;
  beforeAll(async () => { env = await createTestEnv(); });
  afterAll(async () => env?.cleanup());

  it('exits non-zero with the URL it tried when Postgres or Redis is unreachable', async () => {
    const pg = await warden(['migrate'], { DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/warden' });
    expect(pg.code).not.toBe(0);
    expect(pg.stderr).toContain('cannot reach PostgreSQL at postgres://postgres:***@127.0.0.1:1/warden');
    expect(pg.stderr).not.toContain('secret');
    const redis = await warden(['serve'], { DATABASE_URL: env.config.databaseUrl, REDIS_URL: 'redis://127.0.0.1:1', HTTP_PORT: '0', RTMP_PORT: '0' });
    expect(redis.code).not.toBe(0);
    expect(redis.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
  }, 30_000);

  it('refuses bad configuration and unknown commands with a message', async () => {
    const bad = await warden(['migrate'], { HTTP_PORT: 'eighty' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/HTTP_PORT/);
    const unknown = await warden(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('check-text works offline: one JSON verdict line per input line, spans in the original text', async () => {
    const input = 'hello there\nadd me on snаpchat: abc\ngreetings from Scunthorpe\nim 14 lol\n';
    const r = await warden(['check-text'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' }, input);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; action: string; categories: string[]; matches: { start: number; end: number; category: string }[] });
    expect(lines.map((l) => l.action)).toEqual(['allow', 'block', 'allow', 'hold']);
    expect(lines[1]!.categories).toEqual(['contact_solicitation']);
    const m = lines[1]!.matches[0]!;
    expect(lines[1]!.text.slice(m.start, m.end)).toContain('snаpchat'); // the Cyrillic а is in the original span
  });

  it('migrate is repeatable', async () => {
    const r = await warden(['migrate'], { DATABASE_URL: env.config.databaseUrl });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('migrated');
  });

  it('a broken policy file is refused with its file and line', async () => {
    const file = path.join(env.config.dataDir, 'broken.yaml');
    await writeFile(file, 'version: x\ncategories:\n  a:\n    analyzer: nsfw\n    labels: [Porn]\n    flag: { min_score: 1.5 }\n');
    const r = await warden(['rules', 'test', file], { DATABASE_URL: env.config.databaseUrl });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:6:`);
  });

  it('rules test replays stored signals and prints which cases appear and disappear', async () => {
    const p = await seedPerformer(env.ctx.db, 'cli-performer', { verified: true });
    const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${p.userId}`);
    const { id: broadcastId } = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: key!.id, ingestNode: 'cli' });
    // three frames scoring Sexy 0.80: under the default policy's 0.85 flag
    for (let seq = 0; seq < 3; seq++) {
      const s = await insertSample(env.ctx.db, { broadcastId, kind: 'frame', seq, capturedAt: new Date(Date.now() - (3 - seq) * 2000), filePath: `samples/x/${seq}.jpg` });
      const scores = { Drawing: 0.02, Hentai: 0.03, Neutral: 0.1, Porn: 0.05, Sexy: 0.8 };
      await recordSignals(env.ctx.db, { id: s.id, broadcastId, capturedAt: new Date() }, Object.entries(scores).map(([label, score]) => ({ analyzer: 'nsfw', label, score, model: 'm', modelVersion: '1', backend: 'wasm' })));
    }
    const stricter = path.join(env.config.dataDir, 'stricter.yaml');
    await writeFile(stricter, 'version: stricter-1\ncategories:\n  suggestive:\n    analyzer: nsfw\n    labels: [Sexy]\n    flag: { min_score: 0.75, priority: normal }\n');
    const r = await warden(['rules', 'test', stricter], { DATABASE_URL: env.config.databaseUrl });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('replayed 3 samples of 1 broadcasts');
    expect(r.stdout).toMatch(/\+.*suggestive\.flag/);
    const same = await warden(['rules', 'test'], { DATABASE_URL: env.config.databaseUrl });
    expect(same.code).toBe(0);
    expect(same.stdout).not.toMatch(/^\s*[+-] /m);
  }, 60_000);
});
