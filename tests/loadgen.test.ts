// The load generator: where it may send load (loopback by default; elsewhere only with both URLs and the keys from a
// file), the CLI's refusals, and a short real run against a Warden on a throw-away database: streams published over
// RTMP and accepted, chat viewers posting with verdicts measured, samples read back, the backlog from /metrics.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadgenRefusal, isLoopbackHost, resolveTarget, runLoadgen, type LoadgenReport } from '../bench/loadgen.ts';
import { parseLoadgenArgs } from '../bin/commands/loadgen.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const config = { rtmp: { host: '0.0.0.0', port: 1935, publicHost: null }, http: { host: '127.0.0.1', port: 8080 } };
const none = { streams: 2, viewers: 0 };

describe('where the load may go', () => {
  it('knows loopback addresses', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['10.0.0.1', 'example.com', '0.0.0.0', '128.0.0.1', 'localhost.example.com']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('targets the configuration\'s ports on loopback by default', () => {
    expect(resolveTarget(none, config)).toEqual({ rtmp: 'rtmp://127.0.0.1:1935/live', api: 'http://127.0.0.1:8080', loopback: true });
    expect(resolveTarget({ ...none, url: 'rtmp://localhost:1940/live/' }, config)).toEqual({ rtmp: 'rtmp://localhost:1940/live', api: 'http://127.0.0.1:8080', loopback: true });
  });

  it('refuses a non-loopback target unless both URLs are given explicitly with the keys from a file', () => {
    const refused = (o: Parameters<typeof resolveTarget>[0], c = config) => {
      try { resolveTarget(o, c); } catch (err) { expect(err).toBeInstanceOf(LoadgenRefusal); return (err as Error).message; }
      throw new Error('not refused');
    };
    expect(refused(none, { ...config, http: { host: '10.1.2.3', port: 8080 } })).toMatch(/configuration's RTMP_HOST\/HTTP_HOST are not loopback.*both --url and --api/);
    expect(refused({ ...none, url: 'rtmp://ingest.example.com/live' })).toMatch(/address given is not loopback; .*both --url and --api/);
    expect(refused({ ...none, url: 'rtmp://ingest.example.com/live', api: 'https://api.example.com' })).toMatch(/needs --keys FILE/);
    expect(refused({ streams: 2, viewers: 5, url: 'rtmp://ingest.example.com/live', api: 'https://api.example.com', keys: ['a', 'b'] })).toMatch(/--tokens FILE/);
    expect(refused({ ...none, url: 'rtmp://ingest.example.com/live', api: 'https://api.example.com', keys: ['a'] })).toMatch(/1 stream keys for 2 streams/);
    expect(refused({ ...none, url: 'http://127.0.0.1:1935/live' })).toMatch(/--url: expected rtmp:\/\//);
    expect(refused({ ...none, api: 'ftp://127.0.0.1' })).toMatch(/--api: expected http:\/\/ or https:\/\//);
    expect(refused({ ...none, api: 'http://user:pw@127.0.0.1:8080' })).toMatch(/credentials/);
    expect(refused({ ...none, url: 'not a url' })).toMatch(/not a URL/);
    expect(resolveTarget({ ...none, url: 'rtmp://ingest.example.com/live', api: 'https://api.example.com', keys: ['a', 'b'] }, config))
      .toEqual({ rtmp: 'rtmp://ingest.example.com/live', api: 'https://api.example.com', loopback: false });
  });

  it('validates the numbers and needs viewers for chat', async () => {
    await expect(parseLoadgenArgs({})).rejects.toThrow(/--streams is required/);
    await expect(parseLoadgenArgs({ streams: '0' })).rejects.toThrow(/--streams: expected a whole number from 1 to 1000, got "0"/);
    await expect(parseLoadgenArgs({ streams: '2.5' })).rejects.toThrow(/--streams/);
    await expect(parseLoadgenArgs({ streams: '2', 'chat-rate': '5' })).rejects.toThrow(/--chat-rate needs --viewers/);
    await expect(parseLoadgenArgs({ streams: '2', seconds: '-1' })).rejects.toThrow(/--seconds/);
    await expect(parseLoadgenArgs({ streams: '2', keys: '/nonexistent/keys.txt' })).rejects.toThrow(/--keys: cannot read/);
    expect(await parseLoadgenArgs({ streams: '3', viewers: '10', 'chat-rate': '1.5' })).toMatchObject({ streams: 3, viewers: 10, chatRate: 1.5, seconds: 30 });
  });

  it('the CLI refuses a remote target without keys, with a clear message and exit code 2, before loading anything', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = spawn(path.join(root, 'bin/warden'), ['loadgen', ...args], { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d) => { stderr += d; });
      child.stdout.on('data', (d) => { stdout += d; });
      child.once('close', (code) => resolve({ code, stderr, stdout }));
    });
    const remote = await run(['--streams', '2', '--url', 'rtmp://ingest.example.com/live', '--api', 'https://api.example.com']);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/^warden loadgen: a non-loopback target needs --keys FILE/);
    expect(remote.stdout).toBe('');
    const implied = await run(['--streams', '2', '--url', 'rtmp://10.9.9.9/live']);
    expect(implied.code).toBe(2);
    expect(implied.stderr).toMatch(/refusing a non-loopback target/);
  }, 60_000);
});

describe('a short real load on loopback', () => {
  let env: TestEnv;
  let warden: WardenHandle;
  let report: LoadgenReport;
  const lines: string[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    warden = await startWarden(env.ctx, { api: true, ingest: true, workers: true });
    const port = Number(new URL(warden.httpUrl!).port);
    report = await runLoadgen({
      streams: 2, viewers: 6, chatRate: 3, seconds: 10, config: { ...env.config, http: { ...env.config.http, port } },
      mediaDir: path.join(root, 'data/test-media'), print: (l) => lines.push(l),
    });
  }, 180_000);

  afterAll(async () => {
    await warden?.stop();
    await env?.cleanup();
  });

  it('publishes, chats with verdicts, reads back the samples and the backlog', () => {
    expect(report.target.loopback).toBe(true);
    expect(report.publishes).toMatchObject({ accepted: 2, refused: 0 });
    const chat = report.chat!;
    expect(chat.viewersConnected).toBe(6);
    expect(chat.sent).toBeGreaterThanOrEqual(20);
    const answered = chat.verdicts.allow + chat.verdicts.flag + chat.verdicts.held + chat.verdicts.blocked + Object.values(chat.refused).reduce((a, b) => a + b, 0);
    expect(answered + chat.unanswered).toBe(chat.sent);
    expect(chat.verdicts.allow).toBeGreaterThan(0);
    expect(chat.deliveries).toBeGreaterThanOrEqual(chat.verdicts.allow); // every allowed message reaches its room's viewers
    expect(chat.verdictRttMs.n).toBeGreaterThan(0);
    expect(chat.verdictRttMs.p50).toBeGreaterThan(0);
    const s = report.samples!;
    expect(s.frames.taken).toBeGreaterThan(0);
    expect(s.frames.analysed + s.frames.duplicate).toBeGreaterThan(0);
    expect(report.backlog.length).toBeGreaterThan(0);
    expect(report.backlog[0]!.queues.frames).toBeDefined();
    expect(report.cpu.machineBusy).toBeGreaterThan(0);
    expect(report.cpu.groups.publishers).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({ streams: 2, viewers: 6 });
    expect(lines.join('\n')).toMatch(/publishes accepted 2, refused 0/);
    expect(lines.join('\n')).toMatch(/chat verdict round trip \(send → verdict at the client\): p50 [\d.]+ ms, p99 [\d.]+ ms/);
  });
});
