/**
 * Per-category recall and precision of the text analyzer over the hand-labelled corpus
 * (tests/fixtures/text-corpus.ts), with floors per category. Prints a table and every miss.
 */
import { describe, expect, it } from 'vitest';
import { TEXT_CATEGORIES, TextAnalyzer, type TextCategory } from '../analyzer/text/index.ts';
import { TEXT_CORPUS } from './fixtures/text-corpus.ts';

/**
 * Floors per category. Measured on this corpus: every category ≥ 0.9 (slur recall 0.909: spaced-out letters
 * that also swallow the words before them, "u r a f a g g o t", are a known miss). The corpus was written
 * alongside the rules, so these figures are optimistic for real chat; none is below 0.85.
 */
const FLOORS: Record<TextCategory, { recall: number; precision: number }> = {
  profanity: { recall: 0.9, precision: 0.9 },
  slur: { recall: 0.9, precision: 0.9 },
  sexual_harassment: { recall: 0.9, precision: 0.9 },
  threat: { recall: 0.9, precision: 0.9 },
  self_harm: { recall: 0.9, precision: 0.9 },
  minor_disclosure: { recall: 0.9, precision: 0.9 },
  personal_data: { recall: 0.9, precision: 0.9 },
  contact_solicitation: { recall: 0.9, precision: 0.9 },
  off_platform_payment: { recall: 0.9, precision: 0.9 },
  spam: { recall: 0.9, precision: 0.9 },
  link: { recall: 0.9, precision: 0.9 },
};

interface Score { tp: number; fp: number; fn: number }

function score(analyzer: TextAnalyzer) {
  const scores = new Map<TextCategory, Score>(TEXT_CATEGORIES.map((c) => [c, { tp: 0, fp: 0, fn: 0 }]));
  const errors: string[] = [];
  let exact = 0;
  for (const { text, expect: want } of TEXT_CORPUS) {
    const got = new Set(analyzer.analyze(text).categories);
    const wanted = new Set(want);
    let ok = true;
    for (const c of TEXT_CATEGORIES) {
      const s = scores.get(c)!;
      if (got.has(c) && wanted.has(c)) s.tp++;
      else if (got.has(c)) { s.fp++; ok = false; errors.push(`FP ${c.padEnd(20)} ${JSON.stringify(text)}`); }
      else if (wanted.has(c)) { s.fn++; ok = false; errors.push(`FN ${c.padEnd(20)} ${JSON.stringify(text)}`); }
    }
    if (ok) exact++;
  }
  return { scores, errors, exact };
}

describe('text corpus', () => {
  const analyzer = new TextAnalyzer();
  const { scores, errors, exact } = score(analyzer);

  it('has at least 200 messages, covering every category with positives and a clean share', () => {
    expect(TEXT_CORPUS.length).toBeGreaterThanOrEqual(200);
    for (const c of TEXT_CATEGORIES) expect(TEXT_CORPUS.filter((m) => m.expect.includes(c)).length, c).toBeGreaterThanOrEqual(8);
    expect(TEXT_CORPUS.filter((m) => m.expect.length === 0).length).toBeGreaterThanOrEqual(60);
  });

  it('meets the recall and precision floors per category', () => {
    const rows = [`category              n   tp  fp  fn  recall  precision`];
    const failures: string[] = [];
    for (const c of TEXT_CATEGORIES) {
      const s = scores.get(c)!;
      const recall = s.tp / Math.max(1, s.tp + s.fn);
      const precision = s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp);
      rows.push(`${c.padEnd(20)} ${String(s.tp + s.fn).padStart(3)} ${String(s.tp).padStart(4)} ${String(s.fp).padStart(3)} ${String(s.fn).padStart(3)}  ${recall.toFixed(3)}   ${precision.toFixed(3)}`);
      if (recall < FLOORS[c].recall) failures.push(`${c} recall ${recall.toFixed(3)} < ${FLOORS[c].recall}`);
      if (precision < FLOORS[c].precision) failures.push(`${c} precision ${precision.toFixed(3)} < ${FLOORS[c].precision}`);
    }
    rows.push(`exact category sets: ${exact}/${TEXT_CORPUS.length}`);
    console.log([...rows, ...errors].join('\n'));
    expect(failures).toEqual([]);
  });

  it('keeps innocent look-alikes clean (no false positive on any clean message)', () => {
    const dirty = TEXT_CORPUS.filter((m) => m.expect.length === 0)
      .map((m) => ({ text: m.text, got: analyzer.analyze(m.text).categories }))
      .filter((r) => r.got.length > 0);
    expect(dirty.length / TEXT_CORPUS.filter((m) => m.expect.length === 0).length).toBeLessThanOrEqual(0.03);
  });

  it('scores a broken analyzer below the floors (the test can fail)', () => {
    const broken = { analyze: () => ({ matches: [], categories: [] as TextCategory[], normalized: '' }) } as unknown as TextAnalyzer;
    const s = score(broken).scores.get('threat')!;
    expect(s.tp / (s.tp + s.fn)).toBeLessThan(FLOORS.threat.recall);
  });
});
