/**
 * The capacity bench's chat verdict probe, in a worker thread of the serving process (started through
 * bench/capacity-probe-boot.mjs): the two steps every chat message takes before its verdict — the text analyzer
 * (analyzer/text) and the gate (ingest/chat/limits.ts: its own copy of restrictions kept exact by Redis, and counts shared
 * with the other nodes, as a gateway runs it; the probe users join first, so their restrictions are copied) — timed together,
 * `perS` times a second with the text bench's message mix, from 1,000 probe users (so rate limits never short-cut the
 * gate), after 5,000 untimed verdicts so V8 has compiled the path as a node serving chat has (bench/chat-verdict.ts). Its own thread, so what it measures is the verdict's cost on this machine under the load (CPU shared with
 * everything else, Redis shared with the real traffic), not the time the gateway's event loop keeps it waiting (the
 * bench reports that as the serving process's event-loop delay). Messages: `take` → the round trips (ms) since the last.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { connectRedis } from '../core/redis.ts';
import { createLogger } from '../core/logger.ts';
import { ChatLimits } from '../ingest/chat/limits.ts';
import { TextAnalyzer } from '../analyzer/text/index.ts';
import type { ChatPolicy } from '../rules/index.ts';
import { benchMessages } from './text.ts';
import { warmVerdictPath } from './chat-verdict.ts';

/** What the bench passes (workerData). */
export interface ProbeData { redisUrl: string; prefix: string; ownerId: string; perS: number; chat: Pick<ChatPolicy, 'rateLimit' | 'duplicateWithinMs'> }

const d = workerData as ProbeData;
const redis = await connectRedis(d.redisUrl, { name: 'warden-capacity-probe' });
const limits = new ChatLimits({ redis, prefix: d.prefix, logger: createLogger('silent') });
await limits.start();
// the probe users join the room: the gate copies their restrictions, as the gateway does on a join
for (let u = 0; u < 1000; u += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => limits.warm(`probe-${u + j}`, d.ownerId)));
const analyzer = new TextAnalyzer();
const messages = benchMessages(7);
await warmVerdictPath(analyzer, limits, d.ownerId, messages);
let samples: number[] = [];
let i = 0;
let busy = false;
const timer = setInterval(() => {
  if (busy) return;
  busy = true;
  const text = messages[i % messages.length]!;
  const user = `probe-${i % 1000}`;
  i++;
  const t0 = performance.now();
  const analysis = analyzer.analyze(text);
  limits.check(user, d.ownerId, analysis.normalized, d.chat as ChatPolicy, 0).then(
    () => samples.push(performance.now() - t0),
    () => samples.push(Number.POSITIVE_INFINITY), // Redis did not answer: a verdict that never came
  ).finally(() => { busy = false; });
}, 1000 / d.perS);
parentPort!.on('message', (m: string) => {
  if (m === 'take') {
    parentPort!.postMessage(samples);
    samples = [];
  } else if (m === 'stop') {
    clearInterval(timer);
    void limits.stop().finally(() => redis.disconnect());
    parentPort!.close();
  }
});
parentPort!.postMessage('ready');
