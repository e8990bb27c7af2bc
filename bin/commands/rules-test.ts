/** `warden rules test [POLICY]`: replay stored signals against a policy and print which cases and actions change. */
import type { Config } from '../../core/config.ts';
import { broadcastsWithSamples, connectDatabase, sampleTimeline } from '../../db/index.ts';
import { diffReplays, formatDiff, loadPolicy, replay, type BroadcastTimeline } from '../../rules/index.ts';
import { toSampleScores } from '../../analyzer/processors/evaluate-sample.ts';

/**
 * @param candidateFile the changed policy (default: the policy in force, which then replays against itself).
 * @param sinceDays replay broadcasts with samples captured in the last this many days. Each broadcast's frames
 *   and audio chunks are replayed as two timelines (rules see one kind at a time, as live evaluation does).
 */
export async function runRulesTest(config: Config, candidateFile: string | undefined, sinceDays: number): Promise<number> {
  const current = await loadPolicy(config.policyFile);
  const candidate = await loadPolicy(candidateFile ?? config.policyFile);
  const database = await connectDatabase(config.databaseUrl, { max: 2 });
  try {
    const found = await broadcastsWithSamples(database.db, new Date(Date.now() - sinceDays * 86_400_000));
    const timelines: BroadcastTimeline[] = [];
    for (const { id, kind } of found) {
      const rows = await sampleTimeline(database.db, id, kind, 0, 2 ** 31 - 1);
      timelines.push({ broadcastId: id, samples: rows.map(toSampleScores) });
    }
    const before = replay(current, timelines);
    const after = replay(candidate, timelines);
    const samples = timelines.reduce((n, t) => n + t.samples.length, 0);
    process.stdout.write(`replayed ${samples} samples of ${new Set(found.map((f) => f.id)).size} broadcasts (last ${sinceDays} days)\n`);
    process.stdout.write(`${formatDiff(diffReplays(before, after), `${current.version} (${config.policyFile})`, `${candidate.version} (${candidateFile ?? config.policyFile})`)}\n`);
    return 0;
  } finally {
    await database.close();
  }
}
