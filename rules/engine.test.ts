import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, lookbackOf, parsePolicy, type Firing, type Policy, type SampleScores } from './index.ts';

const T0 = Date.UTC(2026, 10, 22, 20, 0, 0);

/** A frame sample every 2 s; `porn`/`sexy` are nsfwjs scores. */
function frame(seq: number, porn: number, sexy = 0, over: Partial<SampleScores> = {}): SampleScores {
  return {
    sampleId: `s${seq}`,
    seq,
    capturedAt: T0 + seq * 2000,
    status: 'analysed',
    scores: { nsfw: { Porn: porn, Hentai: 0, Sexy: sexy, Neutral: 1 - porn - sexy, Drawing: 0 } },
    ...over,
  };
}

function policy(yaml: string): Policy {
  return parsePolicy(`version: "test.1"\n${yaml}`, 'test.yaml');
}

const categories = policy(`
categories:
  explicit:
    analyzer: nsfw
    labels: [Porn, Hentai]
    flag: { min_score: 0.6, priority: high }
    terminate: { min_score: 0.9, consecutive: 3 }
  suggestive:
    analyzer: nsfw
    labels: [Sexy]
    flag: { min_score: 0.85 }
`);

const fired = (p: Policy, timeline: SampleScores[], priorFirings: Firing[] = []) =>
  evaluate({ policy: p, timeline, priorFirings }).map((d) => d.ruleId);

describe('thresholds', () => {
  it('fires a flag at exactly the threshold (inclusive), with evidence, actions and a reason', () => {
    const [d, ...rest] = evaluate({ policy: categories, timeline: [frame(1, 0, 0.85)], priorFirings: [] });
    expect(rest).toEqual([]);
    expect(d).toEqual({
      ruleId: 'suggestive.flag',
      policyVersion: 'test.1',
      shadow: false,
      triggerSampleId: 's1',
      capturedAt: T0 + 2000,
      evidence: [{ sampleId: 's1', score: 0.85, label: 'Sexy' }],
      actions: [{ type: 'review', priority: 'normal' }],
      reason: 'Sexy 0.85 ≥ 0.85',
    });
  });

  it('does not fire just below the threshold', () => {
    expect(fired(categories, [frame(1, 0.5999, 0.8499)])).toEqual([]);
  });

  it('uses the best of the category labels', () => {
    const s = frame(1, 0.1, 0, { scores: { nsfw: { Porn: 0.1, Hentai: 0.7 } } });
    const [d] = evaluate({ policy: categories, timeline: [s], priorFirings: [] });
    expect(d?.evidence).toEqual([{ sampleId: 's1', score: 0.7, label: 'Hentai' }]);
  });

  it('ignores samples without scores from the rule analyzer', () => {
    expect(fired(categories, [frame(1, 0, 0, { scores: { faces: { count: 1 } } })])).toEqual([]);
  });
});

describe('consecutive', () => {
  it('terminates on three consecutive qualifying samples and names them as evidence', () => {
    const timeline = [frame(1, 0.95), frame(2, 0.91), frame(3, 0.93)];
    expect(fired(categories, timeline.slice(0, 2))).toEqual(['explicit.flag']);
    const decisions = evaluate({ policy: categories, timeline, priorFirings: [] });
    expect(decisions.map((d) => d.ruleId)).toEqual(['explicit.flag', 'explicit.terminate']);
    const terminate = decisions[1]!;
    expect(terminate.evidence.map((e) => e.sampleId)).toEqual(['s1', 's2', 's3']);
    expect(terminate.actions).toEqual([{ type: 'review', priority: 'urgent' }, { type: 'end_stream' }]);
    expect(terminate.reason).toBe('Porn 0.93 ≥ 0.90 on 3 consecutive samples');
  });

  it('needs the target itself to qualify', () => {
    expect(fired(categories, [frame(1, 0.95), frame(2, 0.95), frame(3, 0.95), frame(4, 0.89)])).toEqual(['explicit.flag']);
  });

  it('is broken by a gap in seq', () => {
    expect(fired(categories, [frame(1, 0.95), frame(2, 0.95), frame(4, 0.95)])).toEqual(['explicit.flag']);
    expect(fired(categories, [frame(1, 0.95), frame(2, 0.95), frame(4, 0.95), frame(5, 0.95)])).toEqual(['explicit.flag']);
    expect(fired(categories, [frame(2, 0.95), frame(4, 0.95), frame(5, 0.95), frame(6, 0.95)])).toContain('explicit.terminate');
  });

  it('is broken by a pending or a failed sample', () => {
    const pending = frame(2, 0, 0, { status: 'pending', scores: {} });
    expect(fired(categories, [frame(1, 0.95), pending, frame(3, 0.95)])).toEqual(['explicit.flag']);
    const failed = frame(2, 0, 0, { status: 'failed', scores: {}, error: 'boom' });
    expect(fired(categories, [frame(1, 0.95), failed, frame(3, 0.95)])).toEqual(['explicit.flag']);
  });

  it('needs enough history', () => {
    expect(fired(categories, [frame(2, 0.95), frame(3, 0.95)])).toEqual(['explicit.flag']);
  });
});

describe('count within a window', () => {
  const burst = policy(`
rules:
  - id: burst
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.75, count: 3, within: 10s }
    actions: [{ type: review, priority: urgent }]
`);

  it('fires on N qualifying samples in (target - within, target], not counting others', () => {
    // s1 at +2s, s3 at +6s, s5 at +10s, s6 at +12s: window at s6 is (+2s, +12s] -> s3, s5, s6.
    const timeline = [frame(1, 0.8), frame(2, 0.1), frame(3, 0.8), frame(4, 0.1), frame(5, 0.9), frame(6, 0.76)];
    const [d] = evaluate({ policy: burst, timeline, priorFirings: [] });
    expect(d?.evidence.map((e) => e.sampleId)).toEqual(['s3', 's5', 's6']);
    expect(d?.reason).toBe('Porn 0.76 ≥ 0.75; 3 samples ≥ 0.75 within 10s (needs 3)');
  });

  it('stops firing once samples fall out of the window', () => {
    // window at s7 (+14s) is (+4s, +14s]: s1 (+2s) and s2 (+4s, the open end) are out.
    const timeline = [frame(1, 0.8), frame(2, 0.8), frame(3, 0.1), frame(4, 0.1), frame(5, 0.1), frame(6, 0.1), frame(7, 0.8)];
    expect(fired(burst, timeline)).toEqual([]);
    expect(fired(burst, timeline.slice(0, 2).concat(frame(3, 0.8)))).toEqual(['burst']);
  });

  it('needs the target itself to qualify', () => {
    expect(fired(burst, [frame(1, 0.8), frame(2, 0.8), frame(3, 0.8), frame(4, 0.2)])).toEqual([]);
  });
});

describe('cooldown', () => {
  const cooled = policy(`
rules:
  - id: burst
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.75 }
    cooldown: 10s
    actions: [{ type: review, priority: urgent }]
`);

  it('suppresses a firing captured in [target - cooldown, target), then allows it again', () => {
    const firing = { ruleId: 'burst', capturedAt: T0 + 2000 }; // fired on s1
    expect(fired(cooled, [frame(2, 0.9)], [firing])).toEqual([]); // +2s after
    expect(fired(cooled, [frame(6, 0.9)], [firing])).toEqual([]); // exactly +10s after: still cooling
    expect(fired(cooled, [frame(7, 0.9)], [firing])).toEqual(['burst']); // +12s after
  });

  it('is per rule, and ignores firings at or after the target capture time', () => {
    expect(fired(cooled, [frame(2, 0.9)], [{ ruleId: 'other', capturedAt: T0 + 2000 }])).toEqual(['burst']);
    expect(fired(cooled, [frame(2, 0.9)], [{ ruleId: 'burst', capturedAt: T0 + 4000 }])).toEqual(['burst']);
    expect(fired(cooled, [frame(2, 0.9)], [{ ruleId: 'burst', capturedAt: T0 + 6000 }])).toEqual(['burst']);
  });

  it('only ever withholds decisions: with prior firings, a subset of those without (so a caller may skip reading them when nothing fires)', () => {
    const both = policy(`
rules:
  - id: burst
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.75 }
    cooldown: 10s
    actions: [{ type: review, priority: urgent }]
  - id: run
    when: { analyzer: nsfw, labels: [Porn, Sexy], min_score: 0.5, consecutive: 2 }
    cooldown: 1m
    actions: [{ type: review, priority: normal }]
  - id: plain
    when: { analyzer: nsfw, labels: [Sexy], min_score: 0.4 }
    actions: [{ type: review, priority: low }]
`);
    let withheld = 0;
    fc.assert(fc.property(
      // scores in hundredths (fc.double keeps close to 0, where nothing fires)
      fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 })), { minLength: 1, maxLength: 6 }),
      // firings from 70 s before the target to 5 s after it (a cooldown holds for [target - cooldown, target))
      fc.array(fc.record({ ruleId: fc.constantFrom('burst', 'run', 'plain', 'other'), before: fc.integer({ min: -5_000, max: 70_000 }) }), { minLength: 1, maxLength: 4 }),
      (scores, ago) => {
        const timeline = scores.map(([porn, sexy], i) => frame(i + 1, porn / 100, sexy / 100));
        const firings = ago.map((f) => ({ ruleId: f.ruleId, capturedAt: timeline.at(-1)!.capturedAt - f.before }));
        const without = fired(both, timeline, []);
        const withFirings = fired(both, timeline, firings);
        expect(withFirings.every((r) => without.includes(r))).toBe(true);
        if (without.length === 0) expect(withFirings).toEqual([]);
        if (withFirings.length < without.length) withheld++;
      },
    ), { numRuns: 500 });
    expect(withheld).toBeGreaterThan(20); // the cooldowns were exercised, not only the trivial case
  });

  it('rules without a cooldown fire on every qualifying sample', () => {
    expect(fired(categories, [frame(1, 0.7)], [{ ruleId: 'explicit.flag', capturedAt: T0 }])).toEqual(['explicit.flag']);
  });
});

describe('shadow mode and analysis failures', () => {
  it('marks decisions of shadow rules', () => {
    const p = policy(`
categories:
  suggestive: { analyzer: nsfw, labels: [Sexy], mode: shadow, flag: { min_score: 0.5 } }
rules:
  - id: trial
    mode: shadow
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.5 }
    actions: [{ type: end_stream }]
  - id: live
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.5 }
    actions: [{ type: end_stream }]
`);
    const decisions = evaluate({ policy: p, timeline: [frame(1, 0.6, 0.6)], priorFirings: [] });
    expect(decisions.map((d) => [d.ruleId, d.shadow])).toEqual([
      ['suggestive.flag', true],
      ['trial', true],
      ['live', false],
    ]);
  });

  it('holds a failed sample for review when the policy says hold', () => {
    const failed = frame(3, 0, 0, { status: 'failed', scores: {}, error: 'wasm backend crashed' });
    const decisions = evaluate({ policy: categories, timeline: [frame(1, 0.95), frame(2, 0.95), failed], priorFirings: [] });
    expect(decisions).toEqual([
      {
        ruleId: 'analysis-failure',
        policyVersion: 'test.1',
        shadow: false,
        triggerSampleId: 's3',
        capturedAt: failed.capturedAt,
        evidence: [],
        actions: [{ type: 'review', priority: 'normal' }],
        reason: 'analysis failed on sample s3: wasm backend crashed; held for review',
      },
    ]);
  });

  it('records nothing for a failed sample when the policy says pass, nor for a pending one', () => {
    const pass = policy('on_analysis_failure: pass\ncategories:\n  x: { analyzer: nsfw, labels: [Porn], flag: { min_score: 0.1 } }\n');
    expect(fired(pass, [frame(1, 0, 0, { status: 'failed', scores: {}, error: 'x' })])).toEqual([]);
    expect(fired(categories, [frame(1, 0.99, 0.99, { status: 'pending' })])).toEqual([]);
    expect(fired(categories, [])).toEqual([]);
  });
});

describe('lookbackOf', () => {
  it('covers the longest run, the widest window and the longest cooldown', () => {
    expect(lookbackOf(categories)).toEqual({ samples: 3, ms: 0 });
    const p = policy(`
rules:
  - id: a
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.7, count: 3, within: 1m }
    actions: [{ type: end_stream }]
  - id: b
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.7, consecutive: 5 }
    cooldown: 2m
    actions: [{ type: end_stream }]
`);
    expect(lookbackOf(p)).toEqual({ samples: 5, ms: 120_000 });
  });
});
