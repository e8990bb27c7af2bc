import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_FILE, PolicyError, loadPolicy, loadPolicySync, parseDuration, parsePolicy } from './index.ts';

/** Parses `text` expecting failure; returns the PolicyError. */
function failure(text: string, file = 'policies/test.yaml'): PolicyError {
  try {
    parsePolicy(text, file);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

const base = `version: "t.1"
categories:
  explicit:
    analyzer: nsfw
    labels: [Porn, Hentai]
    flag: { min_score: 0.6, priority: high }
    terminate: { min_score: 0.9, consecutive: 3 }
`;

describe('the default policy', () => {
  it('loads, sync and async, with the expected rules', async () => {
    const policy = loadPolicySync(DEFAULT_POLICY_FILE);
    expect(policy.version).toMatch(/\S/);
    expect(policy.onAnalysisFailure).toBe('hold');
    expect(policy.rules.map((r) => r.id)).toEqual([
      'sexual_explicit.flag',
      'sexual_explicit.terminate',
      'suggestive.flag',
      'possible_minor.flag',
      'spoken_threat.flag',
      'spoken_contact.flag',
      'spoken_minor.flag',
      'spoken_abuse.flag',
      'explicit-burst',
      'unverified-person',
      'empty-room',
      'face-check-failure',
      'suggestive-sustained',
    ]);
    expect(await loadPolicy(DEFAULT_POLICY_FILE)).toEqual(policy);
  });

  it('flags a portrait with Sexy 0.92 at normal priority and keeps explicit categories for Porn/Hentai', () => {
    const policy = loadPolicySync(DEFAULT_POLICY_FILE);
    const suggestive = policy.rules.find((r) => r.id === 'suggestive.flag')!;
    expect(suggestive.when).toMatchObject({ analyzer: 'nsfw', labels: ['Sexy'], minScore: 0.85 });
    expect(suggestive.actions).toEqual([{ type: 'review', priority: 'normal' }]);
    const explicitLabels = policy.rules.filter((r) => r.id.startsWith('sexual_explicit')).flatMap((r) => r.when.labels);
    expect(new Set(explicitLabels)).toEqual(new Set(['Porn', 'Hentai']));
    expect(policy.rules.some((r) => r.mode === 'shadow')).toBe(true);
    expect(policy.rules.some((r) => r.when.window.kind === 'count' && r.cooldownMs > 0)).toBe(true);
  });
});

describe('parsePolicy', () => {
  it('expands categories into <category>.flag and <category>.terminate with their actions', () => {
    const policy = parsePolicy(base, 'p.yaml');
    expect(policy.rules).toEqual([
      {
        id: 'explicit.flag',
        description: null,
        mode: 'enforce',
        category: 'explicit',
        when: { analyzer: 'nsfw', labels: ['Porn', 'Hentai'], minScore: 0.6, window: { kind: 'consecutive', samples: 1 } },
        cooldownMs: 0,
        actions: [{ type: 'review', priority: 'high' }],
      },
      {
        id: 'explicit.terminate',
        description: null,
        mode: 'enforce',
        category: 'explicit',
        when: { analyzer: 'nsfw', labels: ['Porn', 'Hentai'], minScore: 0.9, window: { kind: 'consecutive', samples: 3 } },
        cooldownMs: 0,
        actions: [{ type: 'review', priority: 'urgent' }, { type: 'end_stream' }],
      },
    ]);
  });

  it('normalises durations, windows, modes and every action type', () => {
    const policy = parsePolicy(
      `version: "t.2"
on_analysis_failure: pass
rules:
  - id: r1
    mode: shadow
    when: { analyzer: text, labels: [threat], min_score: 0.5, count: 2, within: 90s }
    cooldown: 5m
    actions:
      - { type: review, priority: low }
      - { type: end_stream }
      - { type: suspend, duration: 2h }
      - { type: ban }
      - { type: ban, duration: 30 }
      - { type: timeout, duration: 500ms }
      - { type: mute }
      - { type: block_message }
`,
      'p.yaml',
    );
    expect(policy.onAnalysisFailure).toBe('pass');
    const [rule] = policy.rules;
    expect(rule).toMatchObject({ mode: 'shadow', cooldownMs: 300_000, when: { window: { kind: 'count', samples: 2, withinMs: 90_000 } } });
    expect(rule!.actions).toEqual([
      { type: 'review', priority: 'low' },
      { type: 'end_stream' },
      { type: 'suspend', durationMs: 7_200_000 },
      { type: 'ban', durationMs: null },
      { type: 'ban', durationMs: 30_000 },
      { type: 'timeout', durationMs: 500 },
      { type: 'mute' },
      { type: 'block_message' },
    ]);
  });

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration(2)).toBe(2000);
    expect(parseDuration('5 minutes')).toBeNull();
    expect(parseDuration(-1)).toBeNull();
  });
});

describe('policy errors name the file, line and column', () => {
  it('a YAML syntax error', () => {
    const err = failure('version: "1"\nrules:\n  - id: a\n    when: { analyzer: nsfw\n');
    expect(err.message).toMatch(/^policies\/test\.yaml:\d+:\d+: /);
    expect(err.errors.length).toBeGreaterThan(0);
    expect(err.errors[0]!.line).toBeGreaterThanOrEqual(4);
  });

  it('a duplicate YAML key', () => {
    const err = failure('version: "1"\nversion: "2"\n');
    expect(err.errors[0]!.line).toBe(2);
  });

  it('an unknown key (a typo), pointing at the key itself', () => {
    const err = failure(`${base}    colour: red\n`);
    expect(err.errors).toHaveLength(1);
    expect(err.errors[0]).toMatchObject({ line: 8, col: 5, path: ['categories', 'explicit', 'colour'] });
    expect(err.message).toBe('policies/test.yaml:8:5: categories.explicit.colour: unknown key "colour"');
  });

  it('a threshold of 1.5', () => {
    const err = failure(base.replace('min_score: 0.6', 'min_score: 1.5'));
    expect(err.errors).toHaveLength(1);
    expect(err.errors[0]).toMatchObject({ line: 6, path: ['categories', 'explicit', 'flag', 'min_score'] });
    expect(err.message).toMatch(/^policies\/test\.yaml:6:\d+: .*between 0 and 1/);
  });

  it('a terminate threshold below the flag threshold', () => {
    const err = failure(base.replace('min_score: 0.9', 'min_score: 0.5'));
    expect(err.errors).toHaveLength(1);
    expect(err.errors[0]!.line).toBe(7);
    expect(err.message).toMatch(/^policies\/test\.yaml:7:\d+: .*terminate threshold 0\.5 must be above the flag threshold 0\.6/);
  });

  it('a duplicate rule id, including an expanded category id', () => {
    const rules = `rules:
  - id: burst
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.7 }
    actions: [{ type: end_stream }]
  - id: burst
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.8 }
    actions: [{ type: end_stream }]
  - id: explicit.flag
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.8 }
    actions: [{ type: end_stream }]
`;
    const err = failure(base + rules);
    expect(err.errors.map((e) => e.line)).toEqual([12, 15]);
    expect(err.message).toContain('policies/test.yaml:12:9: rules[1].id: duplicate rule id "burst"');
    expect(err.message).toContain('policies/test.yaml:15:9: rules[2].id: duplicate rule id "explicit.flag"');
  });

  it('count without within, consecutive with count, an unknown action type, a missing key: one line each', () => {
    const err = failure(`version: "1"
rules:
  - id: a
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.7, count: 3 }
    actions: [{ type: end_stream }]
  - id: b
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.7, count: 3, within: 1m, consecutive: 2 }
    actions: [{ type: end_stream }]
`);
    expect(err.errors.map((e) => [e.line, e.message])).toEqual([
      [4, 'count needs a within window (e.g. within: 60s)'],
      [7, 'use either consecutive or count/within, not both'],
    ]);
    const shape = failure(`version: "1"
rules:
  - id: a
    when: { analyzer: nsfw, labels: [Porn] }
    actions: [{ type: nuke }]
`);
    expect(shape.errors.map((e) => [e.line, e.message])).toEqual([
      [4, 'missing required key "min_score"'],
      [5, 'unknown type; expected one of review, end_stream, suspend, ban, timeout, mute, block_message'],
    ]);
    expect(shape.message.split('\n')).toHaveLength(2);
  });

  it('an empty file', () => {
    expect(failure('').message).toBe('policies/test.yaml:1:1: the policy is empty (expected a mapping with at least version)');
  });
});
