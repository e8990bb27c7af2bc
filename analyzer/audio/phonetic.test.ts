import { describe, expect, it } from 'vitest';
import { MAX_PHONE_DISTANCE, phoneticHits, phrasePhones } from './phonetic.ts';
import { PocketsphinxTranscriber, type TranscriptWord } from './pocketsphinx.ts';

const dict = await new PocketsphinxTranscriber().pronunciations();
/** Words at 0.3 s each from `at`. */
function words(text: string, at = 0): TranscriptWord[] {
  return text.split(' ').map((word, i) => ({ word, start: at + i * 0.3, end: at + i * 0.3 + 0.25, confidence: 0.9 }));
}
const phrase = (p: string) => ({ phrase: p, phones: phrasePhones(p, dict)! });

describe('phoneticHits', () => {
  it('spells phrases in dictionary phones, and refuses words it lacks', () => {
    expect(phrasePhones('i will kill you', dict)).toEqual(['AY', 'W', 'IH', 'L', 'K', 'IH', 'L', 'Y', 'UW']);
    expect(phrasePhones('i will zzqx you', dict)).toBeNull();
  });

  it('finds phrases the recogniser heard as sound-alikes (real PocketSphinx outputs), with the words\' time span', () => {
    // free decoding of espeak-ng phrases between LibriVox sentences, as measured (see MAX_PHONE_DISTANCE)
    const heard = words('he was not an illness closed young man i know where you lose the last to be rather cold');
    expect(phoneticHits(heard, [phrase('i know where you live')], dict)).toEqual([{ phrase: 'i know where you live', start: expect.closeTo(2.4, 6), end: expect.closeTo(3.85, 6), method: 'phonetic' }]);
    const age = phoneticHits(words('young man on fourteen years old hello study'), [phrase('i am fourteen years old')], dict);
    expect(age.map((h) => [h.phrase, h.start])).toEqual([['i am fourteen years old', 0.6]]);
    expect(phoneticHits(words('oldest knows what is your phone you are you'), [phrase('what is your phone number')], dict)).toHaveLength(1);
  });

  it('does not match plain speech (the LibriVox reference sentences) or short phrases', () => {
    const librivox = [
      'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them',
      'he was not an ill disposed young man unless to be rather cold hearted and rather selfish is to be ill disposed',
      'had he married a more amiable woman he might have been made still more respectable than he was he might even have been made amiable himself',
    ].join(' ');
    const list = ['i will kill you', 'i know where you live', 'i am going to hurt you', 'add me on snapchat', 'what is your phone number', 'message me on whatsapp', 'i am fourteen years old'].map(phrase);
    expect(phoneticHits(words(librivox), list, dict)).toEqual([]);
    expect(phoneticHits(words('kill you'), [phrase('kill you')], dict)).toEqual([]); // 5 phones: keyword search only
  });

  it('keeps the best of overlapping runs and every separate occurrence', () => {
    const hits = phoneticHits(words('i will kill you and then i will kill you'), [phrase('i will kill you')], dict);
    expect(hits.map((h) => Math.round(h.start * 10) / 10)).toEqual([0, 1.8]);
    expect(MAX_PHONE_DISTANCE).toBeLessThan(0.45);
  });
});
