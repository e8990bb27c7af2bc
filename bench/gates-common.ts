/**
 * Shared pieces of the trust-gates benchmark (bench/gates.ts): latency summaries, a moderator's alert stream
 * read over real HTTP, and the demo clip the publishers loop.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AlertEvent } from '../moderation/index.ts';
import { buildDemoVideo } from '../bin/demo-media.ts';

/** The repository root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Latency figures in milliseconds (nearest-rank percentiles over `n` samples). */
export interface Latency { p50: number; p99: number; max: number; n: number }

/** Summarises latencies in milliseconds: nearest-rank p50 and p99, the maximum and the count, to 0.1 ms. */
export function latency(ms: number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : Number.NaN;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(at(0.5)), p99: r(at(0.99)), max: r(s.length ? s[s.length - 1]! : Number.NaN), n: s.length };
}

/** `p50 12.3 ms, p99 45.6 ms, max 78.9 ms (n=100)` */
export function formatLatency(l: Latency): string {
  return `p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms (n=${l.n})`;
}

/**
 * The 720p30 H.264/AAC demo clip (real photos, testsrc2 and LibriVox speech; bin/demo-media.ts), built once and
 * cached in data/test-media, where the end-to-end tests keep theirs. @returns its absolute path.
 */
export function demoClip(seconds = 16): Promise<string> {
  return buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds });
}

/** A moderator's open `GET /api/alerts/stream`: when each alert's `raised` event arrived (performance.now() ms). */
export interface AlertStreamClient {
  /**
   * Alert id → its `raised` event: arrival (performance.now() ms), arrival by the wall clock (Date.now() ms), and
   * the server's publish time carried in the event (`at`, Date.now() ms on the server; same host, same clock).
   */
  raised: Map<string, { at: number; wallAt: number; publishedAt: number }>;
  close(): Promise<void>;
}

/**
 * Opens a moderator's alert stream over real HTTP (server-sent events, Bearer session) and resolves once the
 * server's `ready` event has arrived, so nothing raised afterwards can be missed.
 * @throws Error when the stream does not open (status, content type) or is not ready within `timeoutMs`.
 */
export async function openAlertStream(httpUrl: string, token: string, timeoutMs = 10_000): Promise<AlertStreamClient> {
  const abort = new AbortController();
  const res = await fetch(`${httpUrl}/api/alerts/stream`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  if (res.status !== 200 || !res.headers.get('content-type')?.includes('text/event-stream')) {
    abort.abort();
    throw new Error(`alert stream: ${res.status} ${res.headers.get('content-type')}`);
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const raised: AlertStreamClient['raised'] = new Map();
  let onReady: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => { onReady = resolve; });
  const pump = (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      const now = performance.now();
      const wallNow = Date.now();
      buf += decoder.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^event: ready$/m.test(block)) onReady?.();
        const data = block.match(/^data: (.*)$/m)?.[1];
        if (/^event: alert$/m.test(block) && data) {
          const e = JSON.parse(data) as AlertEvent;
          if (e.type === 'raised' && !raised.has(e.alert.id)) raised.set(e.alert.id, { at: now, wallAt: wallNow, publishedAt: e.at });
        }
      }
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([ready, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('alert stream: no ready event')), timeoutMs); })]);
  } catch (err) {
    abort.abort();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    raised,
    async close() {
      abort.abort();
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}

/** True when the module at `metaUrl` is the script node was started with (`npx tsx bench/x.ts`). */
export function isMain(metaUrl: string): boolean {
  return process.argv[1] !== undefined && metaUrl === pathToFileURL(path.resolve(process.argv[1])).href;
}

/** Deterministic pseudo-random numbers (mulberry32): a function returning [0, 1). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
