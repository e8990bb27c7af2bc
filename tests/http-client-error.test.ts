// Requests Node's HTTP parser refuses (headers over 16 KiB, malformed HTTP) get the API's JSON error, and it arrives
// even while the client is still sending: api/client-error.ts.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

let env: TestEnv;
let warden: WardenHandle;
beforeAll(async () => {
  env = await createTestEnv();
  warden = await startWarden(env.ctx, { api: true });
});
afterAll(async () => {
  await warden?.stop();
  await env?.cleanup();
});

/** Sends `chunks` over one connection, `gapMs` apart, and returns everything the server answered. */
function exchange(chunks: string[], gapMs: number): Promise<{ answer: string; writeError: string | null }> {
  const port = Number(new URL(warden.httpUrl!).port);
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let writeError: string | null = null;
    socket.setEncoding('utf8').on('data', (d: string) => { answer += d; });
    socket.on('error', (e: NodeJS.ErrnoException) => { writeError = e.code ?? e.message; });
    socket.on('close', () => resolve({ answer, writeError }));
    void (async () => {
      for (const c of chunks) {
        if (socket.destroyed) return;
        socket.write(c);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      socket.end();
    })();
  });
}

describe('requests the HTTP parser refuses', () => {
  it('a 600 KB chat-upgrade URL sent in pieces gets a 431 with a JSON error, not a reset', async () => {
    const filler = '%E2%80%8B'.repeat(64 * 1024 / 9);
    const chunks = [`GET /chat/00000000-0000-4000-8000-000000000000?token=${filler}`, ...Array.from({ length: 9 }, () => filler),
      ' HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'];
    const { answer } = await exchange(chunks, 30);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'headers_too_large', message: expect.stringMatching(/16 KiB/) } });
  });

  it('malformed HTTP gets a 400 with a JSON error; the server goes on answering', async () => {
    const { answer } = await exchange(['GET / HTTP/1.1\r\nHost x\r\n\r\n'], 10);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('malformed_request');
    expect((await fetch(`${warden.httpUrl}/healthz`)).status).toBe(200);
  });
});
