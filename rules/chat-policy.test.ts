import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_FILE, PolicyError, decideMessage, followUpFor, loadPolicySync, parsePolicy } from './index.ts';

const policy = loadPolicySync(DEFAULT_POLICY_FILE);

describe('chat policy', () => {
  it('loads the default chat section with its limits and follow-ups', () => {
    expect(policy.chat.maxLength).toBe(500);
    expect(policy.chat.rateLimit.burst).toEqual({ count: 5, perMs: 10_000 });
    expect(policy.chat.followUps.map((f) => f.id)).toEqual(['repeat-offender-timeout', 'severe-repeat-ban']);
  });

  it('gives the strictest verdict of the categories found; self-harm is never blocked', () => {
    const m = (...cs: string[]) => cs.map((c) => ({ category: c, severity: 'medium' as const }));
    expect(decideMessage(policy.chat, []).verdict).toBe('allow');
    expect(decideMessage(policy.chat, m('profanity')).verdict).toBe('flag');
    expect(decideMessage(policy.chat, m('profanity', 'slur')).verdict).toBe('block');
    expect(decideMessage(policy.chat, m('minor_disclosure', 'link')).verdict).toBe('hold');
    expect(decideMessage(policy.chat, m('self_harm')).verdict).toBe('flag');
  });

  it('takes the verdict by severity where the policy gives one', () => {
    expect(decideMessage(policy.chat, [{ category: 'link', severity: 'medium' }]).verdict).toBe('flag');
    expect(decideMessage(policy.chat, [{ category: 'link', severity: 'high' }]).verdict).toBe('block');
    expect(decideMessage(policy.chat, [{ category: 'spam', severity: 'low' }]).verdict).toBe('flag');
    expect(decideMessage(policy.chat, [{ category: 'spam', severity: 'critical' }]).verdict).toBe('block');
    const p = parsePolicy('version: x\nchat:\n  categories:\n    profanity: { high: hold }\n', 'p.yaml');
    expect(p.chat.actions.profanity).toEqual({ low: 'hold', medium: 'hold', high: 'hold', critical: 'hold' });
  });

  it('lets a room tighten but never loosen the platform verdict', () => {
    expect(decideMessage(policy.chat, [], [{ term: 'spoiler', action: 'block' }]).verdict).toBe('block');
    const loosen = decideMessage(policy.chat, [{ category: 'slur', severity: 'high' }], [{ term: 'x', action: 'allow' }]);
    expect(loosen.verdict).toBe('block');
    expect(loosen.reasons).toEqual([{ source: 'platform', category: 'slur', verdict: 'block' }, { source: 'room', term: 'x', verdict: 'allow' }]);
  });

  it('times out after 3 blocks in 5 minutes, bans after 3 severe blocks in an hour, counts only the window', () => {
    const now = 10_000_000;
    const blocks = (cats: string[], ages: number[]) => ages.map((a) => ({ verdict: 'block' as const, categories: cats, at: now - a }));
    expect(followUpFor(policy.chat, blocks(['spam'], [0, 60_000]), now)).toBeNull();
    expect(followUpFor(policy.chat, blocks(['spam'], [0, 60_000, 120_000]), now)?.action).toEqual({ type: 'timeout', durationMs: 600_000 });
    expect(followUpFor(policy.chat, blocks(['spam'], [0, 60_000, 400_000]), now)).toBeNull();
    expect(followUpFor(policy.chat, blocks(['slur'], [0, 1_000_000, 2_000_000]), now)?.id).toBe('severe-repeat-ban');
    expect(followUpFor(policy.chat, blocks(['slur'], [0, 10_000, 20_000]), now)?.action).toEqual({ type: 'ban', durationMs: null });
  });

  it('rejects an unknown category or verdict with its line', () => {
    const err = (() => { try { parsePolicy('version: x\nchat:\n  categories:\n    swearing: block\n', 'p.yaml'); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).message).toMatch(/^p\.yaml:4:/);
    expect(() => parsePolicy('version: x\nchat:\n  categories:\n    slur: obliterate\n', 'p.yaml')).toThrow(/p\.yaml:4:.*allow, flag, hold, block/);
  });
});
