/**
 * The people around a panic alert, in a process of their own (as their phones and browsers are not the server):
 * moderators holding `GET /api/alerts/stream` open and performers pressing `POST /api/alerts/panic`. Forked by
 * bench/gates-panic.ts, which sends `open`, then one `round` per measurement, then `close`; every reply carries
 * raw latencies in milliseconds, measured on this process's own clock (the split at the server's Redis publish
 * uses the wall clock, the same on one host).
 */
import { performance } from 'node:perf_hooks';
import { openAlertStream, type AlertStreamClient } from './gates-common.ts';

/** Messages from the bench. */
export type ClientCommand =
  | { type: 'open'; httpUrl: string; moderatorTokens: string[] }
  | { type: 'round'; pressingTokens: string[]; count: number; spacingMs: number; tag: string }
  | { type: 'close' };

/** What one round measured: raw samples, in ms. */
export interface RoundSamples { delivery: number[]; toPublish: number[]; fanOut: number[]; response: number[]; missed: number; windowMs: number }

/** Replies to the bench. */
export type ClientReply = { type: 'opened' } | { type: 'round'; samples: RoundSamples } | { type: 'error'; message: string };

let httpUrl = '';
let moderators: AlertStreamClient[] = [];
const reply = (m: ClientReply) => process.send?.(m);

/**
 * `count` presses, one every `spacingMs` on a fixed schedule (a slow response never delays the next press), by
 * the pressing performers in turn; then up to 3 s for every `raised` event on every moderator stream.
 * @throws Error when a press is not accepted (202).
 */
async function round(cmd: Extract<ClientCommand, { type: 'round' }>): Promise<RoundSamples> {
  const presses: { sentAt: number; sentWall: number; done: Promise<{ id: string; respondedAt: number }> }[] = [];
  const firstAt = performance.now();
  for (let i = 0; i < cmd.count; i++) {
    const wait = firstAt + i * cmd.spacingMs - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    const token = cmd.pressingTokens[i % cmd.pressingTokens.length]!;
    const sentAt = performance.now();
    const sentWall = Date.now();
    const done = fetch(`${httpUrl}/api/alerts/panic`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ protection: 'freeze_chat', message: `bench ${cmd.tag} press ${i}` }),
    }).then(async (res) => {
      const body = await res.json() as { alert?: { id: string } };
      const respondedAt = performance.now();
      if (res.status !== 202 || !body.alert) throw new Error(`panic press refused: ${res.status} ${JSON.stringify(body)}`);
      return { id: body.alert.id, respondedAt };
    });
    done.catch(() => {}); // awaited below
    presses.push({ sentAt, sentWall, done });
  }
  const results = await Promise.all(presses.map((p) => p.done));
  const windowMs = performance.now() - firstAt;
  const ids = results.map((x) => x.id);
  const deadline = performance.now() + 3000;
  while (!moderators.every((m) => ids.every((id) => m.raised.has(id))) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const s: RoundSamples = { delivery: [], toPublish: [], fanOut: [], response: results.map((x, i) => x.respondedAt - presses[i]!.sentAt), missed: 0, windowMs };
  presses.forEach((p, i) => {
    moderators.forEach((m, k) => {
      const got = m.raised.get(ids[i]!);
      if (got === undefined) { s.missed++; return; }
      s.delivery.push(got.at - p.sentAt);
      s.fanOut.push(got.wallAt - got.publishedAt);
      if (k === 0) s.toPublish.push(got.publishedAt - p.sentWall);
    });
  });
  return s;
}

process.on('message', (cmd: ClientCommand) => {
  void (async () => {
    try {
      if (cmd.type === 'open') {
        httpUrl = cmd.httpUrl;
        moderators = await Promise.all(cmd.moderatorTokens.map((t) => openAlertStream(httpUrl, t)));
        reply({ type: 'opened' });
      } else if (cmd.type === 'round') {
        reply({ type: 'round', samples: await round(cmd) });
      } else {
        await Promise.all(moderators.map((m) => m.close().catch(() => {})));
        process.exit(0);
      }
    } catch (err) {
      reply({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
process.once('disconnect', () => process.exit(0)); // the bench died
