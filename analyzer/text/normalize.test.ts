import { describe, expect, it } from 'vitest';
import { normalize, toOriginalSpan, TextNormalizer } from './normalize.ts';

/** The original text under the normalised span where `needle` occurs. */
function original(text: string, needle: string): string {
  const n = normalize(text);
  const at = n.text.indexOf(needle);
  expect(at, `"${needle}" in "${n.text}"`).toBeGreaterThanOrEqual(0);
  const [s, e] = toOriginalSpan(n, at, at + needle.length);
  return text.slice(s, e);
}

describe('normalize', () => {
  it('lowercases and leaves ordinary text alone', () => {
    expect(normalize('Hello World, 10:30!').text).toBe('hello world, 10:30!');
  });

  it('strips zero-width characters and soft hyphens, and the span covers them', () => {
    const t = 'f\u200bu\u200cc\u00adk\u2060\uFEFF off';
    expect(normalize(t).text).toBe('fuck off');
    expect(original(t, 'fuck')).toBe('f\u200bu\u200cc\u00adk');
  });

  it('strips zalgo combining marks and accents', () => {
    expect(normalize('z̴̢a̷̛l̸g̶o̵ fück').text).toBe('zalgo fuck');
    expect(original('hey f̸̡u̷c̶k̴̕ you', 'fuck')).toBe('f̸̡u̷c̶k̴̕');
  });

  it('folds Cyrillic, Greek and Armenian look-alikes to Latin (TR39)', () => {
    expect(normalize('sпаpсhаt').text).toBe('snapchat');
    expect(normalize('ΗΕLLΟ οk').text).toBe('hello ok');
    expect(normalize('ѕһіt јоkе ԁоg').text).toBe('shit joke dog');
    expect(normalize('օk սp').text).toBe('ok up');
  });

  it('folds fullwidth and mathematical letters through NFKC', () => {
    const t = 'ｆｕｃｋ 𝐟𝐮𝐜𝐤';
    expect(normalize(t).text).toBe('fuck fuck');
    expect(original(t, 'fuck')).toBe('ｆｕｃｋ');
  });

  it('resolves leetspeak inside words but never in digit-only tokens', () => {
    expect(normalize('sh1t a$$ b1tch k1ll y0u sh!t').text).toBe('shit ass bitch kill you shit');
    expect(normalize('call 555-123-4567 or 14').text).toBe('call 555-123-4567 or 14');
    expect(normalize('8th grade at 3am, 10k views, $5').text).toBe('8th grade at 3am, 10k views, $5');
    expect(normalize('wow!!! @bob').text).toBe('wow!! @bob');
  });

  it('keeps a digit-preserving plain view', () => {
    const n = normalize('My Cashapp is $kim3, c4ll 555');
    expect(n.plain.text).toBe('my cashapp is $kim3, c4ll 555');
    expect(n.text).toBe('my cashapp is skime, call 555');
  });

  it('joins letters spaced out or separated by punctuation, and the span covers the separators', () => {
    expect(normalize('f u c k you').text).toBe('fuck you');
    expect(normalize('f.u.c.k').text).toBe('fuck');
    expect(normalize('f-u-c-k off').text).toBe('fuck off');
    expect(normalize('s h 1 t').text).toBe('shit');
    expect(original('oh f - u - c - k this', 'fuck')).toBe('f - u - c - k');
    expect(normalize('i.e. a b').text).toBe('i.e. a b'); // two letters are not a run
  });

  it('cuts long repeats to two and the span covers the whole run', () => {
    expect(normalize('fuuuuuck').text).toBe('fuuck');
    expect(normalize('sooo good').text).toBe('soo good');
    expect(original('shiiiiiit', 'shiit')).toBe('shiiiiiit');
    expect(normalize('5555551234').text).toBe('5555551234'); // digits are never cut
  });

  it('maps every unit back into the original, monotonically', () => {
    const t = 'Ｈｉ 𝐭𝐡𝐞𝐫𝐞 f.u.c.k ѕһіt 😂😂 ok';
    const n = normalize(t);
    for (let i = 0; i < n.text.length; i++) {
      expect(n.starts[i]!).toBeLessThan(n.ends[i]!);
      expect(n.ends[i]!).toBeLessThanOrEqual(t.length);
      if (i > 0) expect(n.starts[i]!).toBeGreaterThanOrEqual(n.starts[i - 1]!);
    }
    expect(toOriginalSpan(n, 0, n.text.length)).toEqual([0, t.length]);
    expect(toOriginalSpan(n, 3, 3)[0]).toBe(toOriginalSpan(n, 3, 4)[0]);
  });

  it('reuses buffers across calls and handles long input', () => {
    const nz = new TextNormalizer();
    const long = 'ab '.repeat(5000) + 'ｆｕｃｋ';
    expect(nz.normalize(long).text.endsWith('fuck')).toBe(true);
    expect(nz.normalize('Short').text).toBe('short');
    expect(nz.normalize('').text).toBe('');
  });
});
