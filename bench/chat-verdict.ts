/**
 * The chat verdict's two steps as the gateway runs them (ingest/chat/gateway.ts): the text analyzer, then the gate.
 * Shared by the capacity bench's probes (bench/capacity.ts on the serving loop, bench/capacity-probe.ts in a thread).
 */
import type { TextAnalyzer } from '../analyzer/text/index.ts';
import type { ChatLimits, GateLimits } from '../ingest/chat/index.ts';

/**
 * Runs `n` verdicts (default 5,000) for throw-away users under limits nothing trips, so the code is as a node serving
 * chat runs it — compiled and optimised by V8 — before anything is timed; at a probe's 20 a second it would still be
 * interpreted after a minute. Resolves when done (about 0.2–0.5 s).
 */
export async function warmVerdictPath(analyzer: TextAnalyzer, limits: ChatLimits, ownerId: string, messages: readonly string[], n = 5000): Promise<void> {
  const loose: GateLimits = { rateLimit: { burst: { count: 1e9, perMs: 1000 }, sustained: { count: 1e9, perMs: 1000 } }, duplicateWithinMs: 0 };
  for (let i = 0; i < n; i++) {
    const a = analyzer.analyze(messages[i % messages.length]!);
    await limits.check(`verdict-warm-up-${i % 100}`, ownerId, a.normalized, loose, 0);
  }
}
