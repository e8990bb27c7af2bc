import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_FILE, PolicyError, loadPolicySync, parsePolicy, speechScores, type SpeechFinding } from './index.ts';

const base = `version: "t.1"
categories:
  spoken_threat:
    analyzer: speech
    labels: [threat]
    flag: { min_score: 0.6, priority: urgent }
`;

function failure(text: string): PolicyError {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

describe('speech policy', () => {
  it('normalises the watch-list: lowercase, single spaces, de-duplicated, with the category and threshold', () => {
    const p = parsePolicy(`${base}speech:\n  keyword_threshold: 1e-20\n  watch_list:\n    threat: ["I  will kill you", "i will kill you"]\n    contact_solicitation: [add me on snapchat]\n`, 'p.yaml');
    expect(p.speech.watchList).toEqual([
      { phrase: 'i will kill you', category: 'threat', threshold: 1e-20 },
      { phrase: 'add me on snapchat', category: 'contact_solicitation', threshold: 1e-20 },
    ]);
  });

  it('has no watch-list without a speech section', () => {
    expect(parsePolicy(base, 'p.yaml').speech.watchList).toEqual([]);
  });

  it('refuses digits, single words, unknown categories and non-category speech labels, with lines', () => {
    const err = failure(`${base}speech:\n  watch_list:\n    threat: [i am 14]\n    minor_disclosure: [fourteen]\n    weather: [it is raining]\n`);
    const text = err.message;
    expect(text).toMatch(/p\.yaml:9:\d+: .*spell numbers out/);
    expect(text).toMatch(/p\.yaml:10:\d+: .*at least two words/);
    expect(text).toMatch(/p\.yaml:11:\d+: .*weather/);
    const labels = failure(base.replace('[threat]', '[threat, Porn]'));
    expect(labels.message).toMatch(/p\.yaml:5:\d+: .*speech labels are text categories.*"Porn"/);
  });

  it('the default policy listens for threats, contact requests and minors, and acts on them', () => {
    const p = loadPolicySync(DEFAULT_POLICY_FILE);
    const cats = new Set(p.speech.watchList.map((w) => w.category));
    for (const c of ['threat', 'contact_solicitation', 'minor_disclosure'] as const) expect(cats).toContain(c);
    const speechRules = p.rules.filter((r) => r.when.analyzer === 'speech');
    for (const c of cats) expect(speechRules.some((r) => r.when.labels.includes(c))).toBe(true);
    // a spotted phrase (high, 0.8) is enough for every speech rule
    for (const r of speechRules) expect(r.when.minScore).toBeLessThanOrEqual(0.8);
  });

  it('scores a category by its most severe finding', () => {
    const f = (category: SpeechFinding['category'], severity: SpeechFinding['severity']): SpeechFinding =>
      ({ category, severity, source: 'text', rule: 'x', start: 0, end: 1, text: 'x' });
    const s = speechScores([f('profanity', 'low'), f('threat', 'medium'), f('threat', 'high'), f('profanity', 'medium')]);
    expect(Object.fromEntries(s)).toEqual({ profanity: 0.6, threat: 0.8 });
  });
});
