/** Adaptive sampling's pure decisions: intervals by priority and stretch, the control steps, the policy's thresholds. */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../rules/index.ts';
import { intervalFor, maxStretch, nextAudioSlots, nextStretch, scoreThresholds, skipIdleStretch } from './sampling.ts';

describe('intervalFor', () => {
  it('stretches broadcasts without priority first, and urgent ones only once the others are at the maximum', () => {
    // base 2 s, max 10 s: R = 5, stretch 1 … 25
    expect(maxStretch(2000, 10_000)).toBe(25);
    expect(intervalFor('normal', 1, 2000, 10_000)).toBe(2000);
    expect(intervalFor('urgent', 1, 2000, 10_000)).toBe(2000);
    expect(intervalFor('normal', 2.5, 2000, 10_000)).toBe(5000);
    expect(intervalFor('urgent', 2.5, 2000, 10_000)).toBe(2000);
    expect(intervalFor('normal', 5, 2000, 10_000)).toBe(10_000);
    expect(intervalFor('urgent', 5, 2000, 10_000)).toBe(2000);
    expect(intervalFor('normal', 10, 2000, 10_000)).toBe(10_000);
    expect(intervalFor('urgent', 10, 2000, 10_000)).toBe(4000);
    expect(intervalFor('urgent', 25, 2000, 10_000)).toBe(10_000);
    expect(intervalFor('urgent', 100, 2000, 10_000)).toBe(10_000);
  });

  it('never stretches when the maximum is the base interval', () => {
    expect(maxStretch(2000, 2000)).toBe(1);
    expect(intervalFor('normal', 1, 2000, 2000)).toBe(2000);
  });
});

describe('nextStretch', () => {
  const base = { highMs: 2000, lowMs: 500, maxStretch: 25 };
  it('stretches by half while the oldest waiting frame is older than the high mark and the backlog is not draining', () => {
    expect(nextStretch({ ...base, stretch: 1, backlog: { waiting: 40, oldestAgeMs: 3000 }, previousWaiting: null })).toBe(1.5);
    expect(nextStretch({ ...base, stretch: 2, backlog: { waiting: 40, oldestAgeMs: 3000 }, previousWaiting: 35 })).toBe(3);
    expect(nextStretch({ ...base, stretch: 20, backlog: { waiting: 40, oldestAgeMs: 3000 }, previousWaiting: 40 })).toBe(25);
  });
  it('holds while a backlog over the high mark is already shrinking by a quarter', () => {
    expect(nextStretch({ ...base, stretch: 3, backlog: { waiting: 20, oldestAgeMs: 3000 }, previousWaiting: 40 })).toBe(3);
  });
  it('comes back by a sixth under the low mark, never below 1, and holds between the marks', () => {
    expect(nextStretch({ ...base, stretch: 3, backlog: { waiting: 0, oldestAgeMs: 0 }, previousWaiting: 5 })).toBeCloseTo(2.5);
    // nothing waiting at two readings in a row: the analyzer has idle time, the stretch comes down faster
    expect(nextStretch({ ...base, stretch: 3, backlog: { waiting: 0, oldestAgeMs: 0 }, previousWaiting: 0 })).toBeCloseTo(2);
    expect(nextStretch({ ...base, stretch: 3, backlog: { waiting: 2, oldestAgeMs: 100 }, previousWaiting: 0 })).toBeCloseTo(2.5);
    expect(nextStretch({ ...base, stretch: 1.1, backlog: { waiting: 0, oldestAgeMs: 0 }, previousWaiting: 0 })).toBe(1);
    expect(nextStretch({ ...base, stretch: 3, backlog: { waiting: 10, oldestAgeMs: 1000 }, previousWaiting: 5 })).toBe(3);
  });
});

describe('skipIdleStretch', () => {
  it('with every broadcast urgent, an increase goes straight to where urgent ones stretch', () => {
    expect(skipIdleStretch(1, 1.5, false, 2000, 10_000)).toBe(7.5);
    expect(intervalFor('urgent', 7.5, 2000, 10_000)).toBe(3000);
    expect(skipIdleStretch(7.5, 11.25, false, 2000, 10_000)).toBe(11.25);
    expect(skipIdleStretch(3, 2.5, false, 2000, 10_000)).toBe(2.5); // coming down is left as it is
    expect(skipIdleStretch(1, 1.5, true, 2000, 10_000)).toBe(1.5); // others without priority stretch first
    expect(skipIdleStretch(1, 1.5, false, 2000, 2000)).toBe(1.5);
  });
});

describe('nextAudioSlots', () => {
  it('halves the slots (at least one fewer, never under one) over the high mark unless draining, adds one under the low mark', () => {
    expect(nextAudioSlots(10, 10, { waiting: 30, oldestAgeMs: 30_000 }, null, 20_000, 8000)).toBe(5);
    expect(nextAudioSlots(3, 10, { waiting: 30, oldestAgeMs: 30_000 }, 20, 20_000, 8000)).toBe(1);
    expect(nextAudioSlots(1, 10, { waiting: 30, oldestAgeMs: 30_000 }, 20, 20_000, 8000)).toBe(1);
    expect(nextAudioSlots(0, 0, { waiting: 30, oldestAgeMs: 30_000 }, 20, 20_000, 8000)).toBe(0);
    expect(nextAudioSlots(5, 10, { waiting: 20, oldestAgeMs: 30_000 }, 30, 20_000, 8000)).toBe(5);
    expect(nextAudioSlots(5, 10, { waiting: 0, oldestAgeMs: 0 }, 0, 20_000, 8000)).toBe(6);
    expect(nextAudioSlots(10, 10, { waiting: 0, oldestAgeMs: 0 }, 0, 20_000, 8000)).toBe(10);
    expect(nextAudioSlots(5, 10, { waiting: 3, oldestAgeMs: 10_000 }, 2, 20_000, 8000)).toBe(5);
  });
});

describe('scoreThresholds', () => {
  it('takes the lowest enforced threshold per label and leaves out shadow rules and low-priority reviews', () => {
    const policy = parsePolicy(`
version: t1
rules:
  - id: a
    when: { analyzer: nsfw, labels: [Porn, Hentai], min_score: 0.9, consecutive: 3 }
    actions: [{ type: end_stream }]
  - id: b
    when: { analyzer: nsfw, labels: [Porn], min_score: 0.6 }
    actions: [{ type: review, priority: high }]
  - id: c
    mode: shadow
    when: { analyzer: nsfw, labels: [Sexy], min_score: 0.5 }
    actions: [{ type: review, priority: high }]
  - id: d
    when: { analyzer: faces, labels: [no_face], min_score: 0.5, count: 8, within: 2m }
    actions: [{ type: review, priority: low }]
`, 'test.yaml');
    const t = scoreThresholds(policy).sort((x, y) => x.label.localeCompare(y.label));
    expect(t).toEqual([
      { analyzer: 'nsfw', label: 'Hentai', minScore: 0.9 },
      { analyzer: 'nsfw', label: 'Porn', minScore: 0.6 },
    ]);
  });
});
