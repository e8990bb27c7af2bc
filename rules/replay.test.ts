import { describe, expect, it } from 'vitest';
import { diffReplays, formatDiff, parsePolicy, replay, type BroadcastTimeline, type SampleScores } from './index.ts';

const T0 = Date.UTC(2026, 10, 22, 20, 0, 0);

function frames(broadcastId: string, sexy: number[], porn: number[] = []): BroadcastTimeline {
  const samples: SampleScores[] = sexy.map((s, i) => ({
    sampleId: `${broadcastId}-${i + 1}`,
    seq: i + 1,
    capturedAt: T0 + i * 2000,
    status: 'analysed',
    scores: { nsfw: { Sexy: s, Porn: porn[i] ?? 0 } },
  }));
  return { broadcastId, samples };
}

/** A policy with a suggestive flag at `flag` and a Porn rule that ends the stream after 2 consecutive frames. */
const policy = (flag: number, version: string, extra = '') =>
  parsePolicy(
    `version: "${version}"
categories:
  suggestive: { analyzer: nsfw, labels: [Sexy], flag: { min_score: ${flag} } }
  explicit: { analyzer: nsfw, labels: [Porn], terminate: { min_score: 0.9, consecutive: 2 } }
${extra}`,
    'test.yaml',
  );

const timelines = [frames('b1', [0.1, 0.8, 0.82, 0.2]), frames('b2', [0.9, 0.95, 0.1]), frames('b3', [0.1, 0.1, 0.1, 0.1], [0, 0.95, 0.95, 0.95])];

describe('replay', () => {
  it('counts cases per (broadcast, rule) and actions by type', () => {
    const result = replay(policy(0.85, 'v1'), timelines);
    expect(result.policyVersion).toBe('v1');
    expect(result.cases.map((c) => [c.broadcastId, c.ruleId, c.priority, c.decisions, c.firstSampleId])).toEqual([
      ['b2', 'suggestive.flag', 'normal', 2, 'b2-1'],
      ['b3', 'explicit.terminate', 'urgent', 1, 'b3-3'],
    ]);
    expect(result.actions.map((a) => [a.broadcastId, a.type])).toEqual([['b3', 'end_stream']]);
    expect(result.summary).toMatchObject({ broadcasts: 3, decisions: 3, cases: 2, actions: { review: 2, end_stream: 1 } });
  });

  it('stops a broadcast at an enforced end_stream, unless told not to', () => {
    const stopped = replay(policy(0.85, 'v1'), timelines);
    expect(stopped.broadcasts[2]).toMatchObject({ endedAtSampleId: 'b3-3' });
    expect(stopped.summary.samples).toBe(4 + 3 + 3);
    const all = replay(policy(0.85, 'v1'), timelines, { stopAtEndStream: false });
    expect(all.broadcasts[2]!.decisions.map((d) => d.triggerSampleId)).toEqual(['b3-3', 'b3-4']);
  });

  it('feeds firings back so cooldowns apply across samples', () => {
    const p = policy(
      0.99,
      'v1',
      `rules:
  - id: sexy-cooled
    when: { analyzer: nsfw, labels: [Sexy], min_score: 0.5 }
    cooldown: 4s
    actions: [{ type: review, priority: low }]
`,
    );
    // b: Sexy on frames at 0, 2, 4, 6, 8 s: fires at 0 s, cooled at 2 and 4 s, fires at 6 s, cooled at 8 s.
    const result = replay(p, [frames('b', [0.6, 0.6, 0.6, 0.6, 0.6])]);
    expect(result.broadcasts[0]!.decisions.map((d) => d.triggerSampleId)).toEqual(['b-1', 'b-4']);
    expect(result.cases).toEqual([
      { broadcastId: 'b', ruleId: 'sexy-cooled', shadow: false, priority: 'low', firstSampleId: 'b-1', decisions: 2 },
    ]);
  });

  it('keeps shadow cases apart and records analysis failures as cases when held', () => {
    const p = parsePolicy(
      `version: "s"
categories:
  suggestive: { analyzer: nsfw, labels: [Sexy], mode: shadow, flag: { min_score: 0.5 } }
`,
      'test.yaml',
    );
    const failed = frames('f', [0.1, 0.6]);
    failed.samples[0] = { ...failed.samples[0]!, status: 'failed', scores: {}, error: 'timeout' };
    const result = replay(p, [failed]);
    expect(result.summary).toMatchObject({ cases: 1, shadowCases: 1, decisions: 1, shadowDecisions: 1 });
    expect(result.cases.map((c) => [c.ruleId, c.shadow])).toEqual([
      ['analysis-failure', false],
      ['suggestive.flag', true],
    ]);
  });
});

describe('diffReplays and formatDiff', () => {
  it('a lowered threshold makes a case appear', () => {
    const before = replay(policy(0.85, 'v1'), timelines);
    const after = replay(policy(0.8, 'v2'), timelines);
    const diff = diffReplays(before, after);
    expect(diff.casesAdded.map((c) => [c.broadcastId, c.ruleId, c.decisions])).toEqual([['b1', 'suggestive.flag', 2]]);
    expect(diff.casesRemoved).toEqual([]);
    expect(diff.actionsAdded).toEqual([]);
    const text = formatDiff(diff, 'v1', 'v2');
    expect(text.split('\n')).toEqual([
      'policy v1 → v2: replayed 3 broadcasts, 10 samples',
      '+ case  broadcast b1  suggestive.flag  normal  (2 decisions, first at sample b1-2)',
      'total: +1 -0 cases, +0 -0 actions (cases 2 → 3, shadow cases 0 → 0, end_stream 1 → 1)',
    ]);
  });

  it('a raised threshold makes cases and actions disappear', () => {
    const raised = parsePolicy(
      `version: "v3"
categories:
  suggestive: { analyzer: nsfw, labels: [Sexy], flag: { min_score: 0.96 } }
  explicit: { analyzer: nsfw, labels: [Porn], terminate: { min_score: 0.96, consecutive: 2 } }
`,
      'test.yaml',
    );
    const diff = diffReplays(replay(policy(0.85, 'v1'), timelines), replay(raised, timelines));
    expect(diff.casesAdded).toEqual([]);
    expect(diff.casesRemoved.map((c) => [c.broadcastId, c.ruleId])).toEqual([
      ['b2', 'suggestive.flag'],
      ['b3', 'explicit.terminate'],
    ]);
    expect(diff.actionsRemoved.map((a) => [a.broadcastId, a.type])).toEqual([['b3', 'end_stream']]);
    const text = formatDiff(diff, 'v1', 'v3');
    expect(text).toContain('- case  broadcast b2  suggestive.flag  normal');
    expect(text).toContain('- action  broadcast b3  explicit.terminate  end_stream');
    expect(text.split('\n').at(-1)).toBe('total: +0 -2 cases, +0 -1 actions (cases 2 → 0, shadow cases 0 → 0, end_stream 1 → 0)');
  });

  it('an unchanged policy prints no changes', () => {
    const r = replay(policy(0.85, 'v1'), timelines);
    const text = formatDiff(diffReplays(r, r), 'v1', 'v1');
    expect(text).toContain('no changes');
    expect(text).toMatch(/total: \+0 -0 cases, \+0 -0 actions/);
  });
});
