/**
 * Tools of the fault tests: a TCP proxy that can be cut and restored (a store going away for one Warden, without
 * touching the machine's shared Postgres or Redis), a private redis-server on a free port that can be killed and
 * started again on its data, and a moderator's alert stream over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AlertEvent } from '../../moderation/index.ts';
import { freePort, waitFor } from '../harness.ts';

/**
 * A TCP proxy to `host:port`. {@link cut} closes every connection and refuses new ones at once (as a stopped
 * server does, seen from the client); {@link restore} lets connections through again.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private down = false;
  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy;
    const server = net.createServer((inbound) => {
      inbound.on('error', () => {});
      if (proxy.down) return void inbound.destroy();
      const outbound = net.connect(targetPort, targetHost);
      for (const s of [inbound, outbound]) {
        proxy.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => { proxy.sockets.delete(s); (s === inbound ? outbound : inbound).destroy(); });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** `url` (postgres:// or redis://) with its host and port replaced by the proxy's. */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

/**
 * A private redis-server in a temporary directory on a free port, with an append-only file written on every
 * command (`appendfsync always`), so {@link kill} (SIGKILL) and {@link start} again lose nothing, as a production
 * Redis with AOF would. Never the machine's shared Redis.
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private constructor(readonly dir: string, readonly port: number) {}

  static async create(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await mkdtemp(path.join(os.tmpdir(), 'warden-redis-')), await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server on its port and data; resolves when it answers PING. */
  async start(): Promise<void> {
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'always', '--daemonize', 'no', '--logfile', path.join(this.dir, 'redis.log'),
    ], { stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => { if (this.child === child) this.child = null; });
    await waitFor(() => new Promise<boolean>((resolve) => {
      const s = net.connect(this.port, '127.0.0.1');
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
      s.once('error', () => resolve(false));
    }), `redis-server on ${this.port}`, 10_000, 50);
  }

  /** SIGKILL: the server is gone at once, as in a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A moderator's open alert stream (`GET /api/alerts/stream`), collecting alert events with when they arrived. */
export async function alertStream(httpUrl: string, token: string): Promise<{ events: (AlertEvent & { receivedAt: number })[]; close(): void }> {
  const ac = new AbortController();
  const res = await fetch(`${httpUrl}/api/alerts/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  if (!res.ok || !res.body) throw new Error(`alert stream: HTTP ${res.status}`);
  const events: (AlertEvent & { receivedAt: number })[] = [];
  let ready = false;
  void (async () => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (block.includes('event: ready')) ready = true;
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (block.includes('event: alert') && data) events.push({ ...(JSON.parse(data) as AlertEvent), receivedAt: Date.now() });
      }
    }
  })();
  await waitFor(() => ready, 'the alert stream to open', 5000, 10);
  return { events, close: () => ac.abort() };
}

/** A JSON request to the API; resolves with the status and the parsed body (null when not JSON). */
export async function call(httpUrl: string, method: string, pathname: string, token?: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${httpUrl}${pathname}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed };
}
