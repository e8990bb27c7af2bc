import { describe, expect, it } from 'vitest';
import { TextAnalyzer } from './analyzer.ts';
import { PATTERN_RULES, stretch } from './patterns.ts';

const analyzer = new TextAnalyzer();
const rulesOf = (text: string): string[] => analyzer.analyze(text).matches.map((m) => m.rule);

/** Per rule: messages it must hit, and near-misses it must not. */
const CASES: Record<string, { hit: string[]; miss: string[] }> = {
  threat_violence: { hit: ['I will kill you', "i'm gonna stab u", 'i swear i will literally murder you', "i'll hurt your family"], miss: ["I'll kill it on stage tonight", "i'd never hurt you", 'I think the villain will kill him', "i'm gonna kill you in this game"] },
  threat_beat: { hit: ["i'll beat you to death", 'gonna beat the shit out of you'], miss: ["i'll beat you at chess"] },
  threat_where_you_live: { hit: ['gonna find where you live', 'i know where u live', 'i have your address'], miss: ['where do you live? nice city'] },
  threat_youre_dead: { hit: ["you're dead", 'ur dead meat'], miss: ["you're dead wrong", "I'm dead lol"] },
  threat_you_will_die: { hit: ['you will die', "you're gonna get shot"], miss: ['you will die laughing at this'] },
  threat_kys: { hit: ['kys', 'go kill yourself', 'you should just die'], miss: ['kiss you all', 'skys the limit'] },
  threat_mass_violence: { hit: ['gonna shoot up the school'], miss: ['shoot the ball up'] },
  sexual_show_body: { hit: ['show me your tits', 'show ur b00bs', 'lemme see your feet'], miss: ['show me your setup', 'show us the stage'] },
  sexual_take_off: { hit: ['take it off', 'take your top off', 'strip for me'], miss: ['take it off the list', 'take off at noon'] },
  sexual_send_nudes: { hit: ['send nudes', 'send me nudes pls'], miss: ['send me the playlist'] },
  sexual_demand: { hit: ['i wanna fuck you', 'let me lick your'], miss: ['i wanna hug my mom'] },
  sexual_lewd_command: { hit: ['suck my dick', 'spread your legs', 'bend over for me'], miss: ['bend over backwards for fans'] },
  self_harm_myself: { hit: ['I want to kill myself', 'i keep cutting myself', 'gonna take my own life'], miss: ['i cut myself shaving', 'kill yourself'] },
  self_harm_kms: { hit: ['kms', 'ugh kms'], miss: ['ran 5 kms today'] },
  self_harm_want_to_die: { hit: ['I want to die', 'i wanna die', "i don't want to live anymore", 'feeling suicidal'], miss: ['i would die for this song', "i'm gonna die laughing", 'the suicide squad movie'] },
  minor_age: { hit: ["I'm 14", 'im 15 years old', 'i am 13 btw', "i'm fifteen", 'i just turned 12'], miss: ["I'm 14 minutes late", 'we moved 14 years ago', "I'm 6 foot", 'im 25', 'im 100% sure', "i'm 2 years older"] },
  minor_asl: { hit: ['14/f', 'asl? 15 f', 'f/16'], miss: ['$10/m subscription', '25/f'] },
  minor_school: { hit: ["i'm in 8th grade", 'year 9 here', "i'm in middle school", 'im a 7th grader'], miss: ['when i was in middle school', 'year 3 of my phd', 'the year 2000'] },
  email: { hit: ['john.smith@gmail.com'], miss: ['@john on here'] },
  email_spelled: { hit: ['john at gmail dot com', 'jane [at] yahoo [dot] com'], miss: ['look at me', 'looking at the dot com bubble'] },
  phone: { hit: ['555-123-4567', '(555) 123-4567', '+44 20 7946 0958', '5551234567', '555-1234', '５５５-１２３-４５６７'], miss: ['$5', '3-2 win', '2024-05-14', '10:30', '2019 2020 2021', 'version 1.2.3'] },
  phone_words: { hit: ['five five five one two three four'], miss: ['one two three go'] },
  street_address: { hit: ['123 Main Street', '42 Elm St', '77 Sunset Blvd'], miss: ['ran 5 miles down the road', 'a 2 hour drive'] },
  contact_on_platform: { hit: ['add me on snapchat', 'dm me on telegram', 'hmu on kik', 'add me on s n a p'], miss: ['i saw it on instagram', 'add me to the list'] },
  contact_platform_me: { hit: ['snap me', 'whatsapp me'], miss: ['oh snap me too', 'snap your fingers'] },
  contact_my_platform: { hit: ["what's your snap?", 'my insta is jess'], miss: ['my snap peas', 'my insta feed is cats'] },
  contact_handle: { hit: ['snapchat: bob_1999', '@lily.rose on insta'], miss: ['instagram is down'] },
  contact_join_group: { hit: ['join my discord server'], miss: ['join the stream'] },
  payment_app: { hit: ['my cashapp is', 'send it to my venmo', 'paypal me'], miss: ['paypal had an outage'] },
  cashtag: { hit: ['$kim3', '$honeybunny'], miss: ['$5', '$hit happens', '$USD rate'] },
  paypal_me: { hit: ['paypal.me/jess'], miss: ['paypal.com'] },
  wallet_btc: { hit: ['1BoatSLRHtKNngkdXEeobR76b53LETtpyT'], miss: ['11111111111111111111111111'] },
  wallet_eth: { hit: ['0x742d35Cc6634C0532925a3b844Bc454e4438f44e'], miss: ['0x1234'] },
  crypto_ask: { hit: ['send btc to me', 'pay me in gift cards'], miss: ['bitcoin is up today'] },
  paid_site: { hit: ['check my onlyfans'], miss: ['only the fans know'] },
  char_flood: { hit: ['!!!!!!!!!!!!!!!!', 'aaaaaaaaaaaaaaaaaa'], miss: ['!!!!!', 'noooo'] },
  promo: { hit: ['free followers', 'sub4sub'], miss: ['free stream tonight'] },
  shortener: { hit: ['bit.ly/abc', 'linktr.ee/hannah', 'bit dot ly slash x'], miss: ['a bit lying'] },
  url: { hit: ['https://example.com/x', 'www.site.net'], miss: ['http is a protocol'] },
  domain: { hit: ['coolstuff.xyz', 'mysite.net/page'], miss: ['node.js', 'e.g. this', 'john@gmail.com'] },
  domain_spelled: { hit: ['mysite dot com'], miss: ['the dot com era'] },
};

describe('pattern rules', () => {
  it('has hits and near-misses for every rule', () => {
    expect(Object.keys(CASES).sort()).toEqual(PATTERN_RULES.map((r) => r.name).sort());
  });

  for (const [name, { hit, miss }] of Object.entries(CASES)) {
    it(`${name}: hits and near-misses`, () => {
      for (const t of hit) expect(rulesOf(t), t).toContain(`pattern:${name}`);
      for (const t of miss) expect(rulesOf(t), t).not.toContain(`pattern:${name}`);
    });
  }

  it('measured spam: caps floods, repeated words, emoji floods', () => {
    expect(rulesOf('OMG THIS IS THE BEST STREAM')).toContain('pattern:caps_flood');
    expect(rulesOf('big SPOILER ahead')).not.toContain('pattern:caps_flood');
    expect(rulesOf('OMG LOL')).not.toContain('pattern:caps_flood'); // under 12 letters
    expect(rulesOf('buy followers buy followers buy followers buy followers')).toContain('pattern:repeated_text');
    expect(rulesOf('haha haha')).not.toContain('pattern:repeated_text');
    expect(rulesOf('no no no no')).not.toContain('pattern:repeated_text'); // under 12 characters
    expect(rulesOf('🔥💯🔥💯🔥💯🔥💯🔥💯🔥')).toContain('pattern:emoji_flood');
    expect(rulesOf('happy birthday 🎉🎉')).not.toContain('pattern:emoji_flood');
  });

  it('stretch() lets every letter repeat', () => {
    const re = new RegExp(`^${stretch('kill', 'snap chat')}$`);
    for (const s of ['kill', 'kil', 'kiill', 'snapchat', 'snap chat', 'snaapchat']) expect(re.test(s), s).toBe(true);
    expect(re.test('kiss')).toBe(false);
  });
});

describe('TextAnalyzer', () => {
  it('reports spans in the original text, through evasions', () => {
    const t = 'hey a\u200bdd me on snаpchat bob99 ok';
    const m = analyzer.analyze(t).matches.find((x) => x.category === 'contact_solicitation')!;
    expect(t.slice(m.start, m.end)).toBe('a\u200bdd me on snаpchat');
    const f = 'lol ｆ.ｕ.ｃ.ｋ';
    const p = analyzer.analyze(f).matches[0]!;
    expect(p).toMatchObject({ category: 'profanity', rule: 'obscenity:fuck', severity: 'low' });
    expect(f.slice(p.start, p.end)).toBe('ｆ.ｕ.ｃ.ｋ');
  });

  it('maps obscenity words to slur (high) or profanity', () => {
    expect(analyzer.analyze('you n1gger').matches[0]).toMatchObject({ category: 'slur', severity: 'high', rule: 'obscenity:nigger' });
    expect(analyzer.analyze('what a bitch').matches[0]).toMatchObject({ category: 'profanity', severity: 'medium' });
  });

  it('whitelists places and ordinary words', () => {
    for (const t of ['Scunthorpe', 'Penistone', 'cocktail', 'shiitake', 'assassin', 'Essex', 'Sussex', 'Dickens', 'therapist', 'grapes', 'analysis', 'class', 'pass', 'bass', 'hello', 'Cockburn', 'cumin', 'rapeseed']) {
      expect(analyzer.analyze(t).categories, t).toEqual([]);
    }
  });

  it('returns categories in a fixed order and the normalised text', () => {
    const a = analyzer.analyze('FUCK YOU, I WILL KILL YOU');
    expect(a.categories).toEqual(['profanity', 'threat', 'spam']);
    expect(a.normalized).toBe('fuck you, i will kill you');
  });

  it('accepts extra terms and whitelist, and can disable rules', () => {
    const custom = new TextAnalyzer({ extraTerms: [{ term: 'spoilerz', category: 'spam', severity: 'low' }], extraWhitelist: ['bitchin'], disableRules: ['caps_flood', 'char_flood'] });
    expect(custom.analyze('no sp0ilerz please').matches[0]).toMatchObject({ category: 'spam', rule: 'extra:spoilerz' });
    expect(custom.analyze('that was bitchin').categories).toEqual([]);
    expect(custom.analyze('!!!!!!!!!!!!!!!!').categories).toEqual([]);
  });

  it('rejects non-strings', () => {
    expect(() => analyzer.analyze(undefined as unknown as string)).toThrow(TypeError);
  });

  it('never lets the obscenity prefilter hide a match (prefilter ⊇ obscenity)', async () => {
    const { ProfanityMatcher } = await import('./profanity.ts');
    const { TextNormalizer } = await import('./normalize.ts');
    const { TEXT_CORPUS } = await import('../../tests/fixtures/text-corpus.ts');
    const p = new ProfanityMatcher();
    const n = new TextNormalizer();
    for (const { text } of TEXT_CORPUS) {
      const norm = n.normalize(text).text;
      if (!p.mightMatch(norm)) expect(p.obscenity.getAllMatches(norm), text).toEqual([]);
    }
  });
});
