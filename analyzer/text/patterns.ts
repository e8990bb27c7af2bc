/**
 * Warden's pattern rules: named regular expressions, each with a category and a severity, compiled once.
 *
 * Each rule reads one view of the text (normalize.ts): `norm` (leetspeak resolved, spaced letters joined,
 * repeats ≤ 2: for phrases people disguise) or `plain` (digits and punctuation intact: for phone numbers,
 * e-mail, URLs, cashtags, ages). Key words go through {@link stretch}, which lets every letter repeat
 * ("kiill", "snaap" still match after the normaliser cut "kiiiill" to "kiill").
 *
 * Category notes:
 * - `self_harm` rules find a person who may be at risk. The caller routes these to support resources and
 *   NEVER blocks or punishes them (see `defaultTextAction`).
 * - `minor_disclosure` finds someone saying they are under 18 ("I'm 14", "im 15 years old", "i'm in 8th
 *   grade", "year 9"), not "I'm 14 minutes late" or "14 years ago".
 * - `threat` includes telling someone to kill themselves ("kys"), which is harassment, not self-harm.
 */
import type { Severity, TextCategory } from './types.ts';

/** Which view of the text a rule reads. */
export type RuleView = 'norm' | 'plain';

/** One pattern rule. `re` is global (`g`) and run over the whole view once per message. */
export interface PatternRule {
  /** Rule id without the `pattern:` prefix, e.g. `phone`. */
  name: string;
  category: TextCategory;
  severity: Severity;
  view: RuleView;
  re: RegExp;
  /** Cheap prefilter: the rule runs only if the view contains one of these substrings. */
  gate?: readonly string[];
  /** Extra check on a candidate match (e.g. digit counts); false drops it. */
  accept?: (m: RegExpExecArray) => boolean;
}

/** An alternation of words in which each letter may repeat: `stretch('kill', 'stab')` → `(?:k+i+l+|s+t+a+b+)`. */
export function stretch(...words: string[]): string {
  return `(?:${words.map((w) => w.replace(/(.)\1*/g, (_, c: string) => (/[a-z]/.test(c) ? `${c}+` : c === ' ' ? '\\s*' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))).join('|')})`;
}

const YOU = '(?:you|u|ya|yu|yall|y\'all|thee)';
const YOUR = '(?:your|ur|yur|you\'re|youre|yo)';
const VIOLENT = stretch('kill', 'murder', 'stab', 'shoot', 'strangle', 'choke', 'slit', 'behead', 'rape', 'hurt', 'end', 'gut', 'hunt') + '(?:ed|ing|s)?';
/** Words allowed between "i"/"we" and a violent verb in a threat ("i swear i will literally …"). */
const FILLER = "will|'ll|ll|shall|am|'m|m|are|'re|re|gonna|going\\s+to|finna|bout\\s+to|about\\s+to|want\\s+to|wanna|gon|should|could|can|would|'d|d|must|literally|really|swear|fucking|fkn|gladly|totally|just|actually|come|and|go|to|i|we|personally|seriously|will\\s+come|gonna\\s+come";
const SELF = "(?:i'?m|i\\s+am|im|i\\s+m|iam)";
const PLAT = stretch('snapchat', 'snap chat', 'snap', 'insta', 'instagram', 'ig', 'telegram', 'kik', 'whatsapp', 'whats app', 'discord', 'skype', 'wickr', 'viber', 'wechat', 'session app', 'threema');
const PAY = stretch('cashapp', 'cash app', 'venmo', 'paypal', 'pay pal', 'zelle', 'skrill', 'revolut', 'chime');
const AGE_UNIT = "(?:\\s*(?:(?:yo|y\\/o)\\b|(?:yrs?|years?)\\s*old\\b|(?:yrs?|years?)(?=\\s*(?:$|[,.!?;)]|and\\b|but\\b|btw\\b|lol\\b|here\\b|now\\b|tho\\b|too\\b))))";
const CLAUSE_END = "(?=\\s*(?:$|[,.!?;)]|and\\b|but\\b|btw\\b|lol\\b|lmao\\b|haha|tho\\b|though\\b|so\\b|rn\\b|here\\b|too\\b|myself\\b|actually\\b|irl\\b|[fm]\\b|don'?t\\b|pls\\b|please\\b|i\\b|i'?m\\b|if\\b|guys\\b|bro\\b|ok\\b|okay\\b|😭|😂))";
const QUAL = '(?:\\s+(?:only|just|barely|literally|actually|like|almost|nearly|still|now|really|turning))*';
const NUM_WORDS = '(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)';
const TLD = 'com|net|org|io|co|me|tv|gg|ly|xyz|info|biz|ru|de|uk|ca|au|fr|nl|app|dev|live|link|site|online|store|shop|club|top|click|vip|fun|cc|ws|tk|ml|ga|cf|pw|su|cam|porn|sex|xxx|chat|social|page|pics|pro|fans';
const SHORTENERS = 'bit\\.ly|tinyurl\\.com|t\\.co|goo\\.gl|is\\.gd|ow\\.ly|buff\\.ly|rebrand\\.ly|cutt\\.ly|shorturl\\.at|tiny\\.cc|rb\\.gy|t\\.ly|bl\\.ink|s\\.id|v\\.gd|qr\\.co|linktr\\.ee|beacons\\.ai|allmylinks\\.com|lnk\\.bio|youtu\\.be';

const rule = (name: string, category: TextCategory, severity: Severity, view: RuleView, source: string, accept?: PatternRule['accept'], gate?: readonly string[]): PatternRule =>
  ({ name, category, severity, view, re: new RegExp(source, 'g'), ...(accept ? { accept } : {}), ...(gate ? { gate } : {}) });

const digitsIn = (s: string): number => { let n = 0; for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); if (c >= 48 && c <= 57) n++; } return n; };

/** Phone candidates: 10–15 digits, or 7 digits as 3-4 with a dash/dot, or + and 8–15 digits; not dates or ascending counts. */
function acceptPhone(m: RegExpExecArray): boolean {
  const s = m[0];
  const d = digitsIn(s);
  if (/^\d{4}[-./]\d{1,2}[-./]\d{1,2}/.test(s) || /^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$/.test(s)) return false;
  if (/^(?:(?:19|20)\d\d[\s,]+)+(?:19|20)\d\d$/.test(s)) return false; // a list of years
  if (s.startsWith('+')) return d >= 8 && d <= 15;
  if (d >= 10 && d <= 15) return !/^1\s2\s3\s4/.test(s);
  return d === 7 && /^\d{3}[-.]\d{4}$/.test(s);
}

/** Bitcoin legacy addresses are base58 with at least one letter and one digit. */
const acceptWallet = (m: RegExpExecArray): boolean => /[a-z]/.test(m[0]) && /\d/.test(m[0].slice(1));

/** Every pattern rule, in evaluation order. */
export const PATTERN_RULES: readonly PatternRule[] = [
  // ── threats of violence ──
  rule('threat_violence', 'threat', 'critical', 'norm',
    `\\b(?:i|we|ima|imma|i'?ll|ill|i'?m|im|i'?d|id|gonna|going\\s+to)\\b(?:\\s*(?:${FILLER})\\b){0,5}\\s*${VIOLENT}\\s+(?:${YOU}|him|her|them|${YOUR}\\s+(?:family|kids?|mom|mother|dad|wife|husband|children|daughter|son|whole\\s+family|throat|neck|skull))\\b(?!\\s+(?:at|in|on)\\s+(?:this|the|that)?\\s*(?:game|match|round|level|chess|fortnite))`,
    (m) => !/\b(?:never|not|no|wouldn'?t|won'?t|don'?t|didn'?t|doesn'?t|nobody|can'?t|cant|wont|dont)\b/.test(m[0])),
  rule('threat_beat', 'threat', 'high', 'norm',
    `\\b(?:beat|punch|smash)\\s+(?:${YOU}|${YOUR}\\s+(?:face|head|ass))\\s+(?:up|to\\s+death|senseless|until|till|so\\s+hard)|\\bbeat\\s+the\\s+(?:shit|crap|hell)\\s+out\\s+of\\s+${YOU}\\b`),
  rule('threat_where_you_live', 'threat', 'high', 'norm',
    `\\b(?:find|found|know|knows|get|got|track|tracked|figure\\s+out|found\\s+out)\\s+(?:out\\s+)?where\\s+${YOU}\\s+(?:live|stay|sleep|work)\\b|\\b(?:i|we)\\s+(?:have|got|know)\\s+${YOUR}\\s+(?:home\\s+)?address\\b|\\b(?:i'?m|im|i\\s+am)\\s+(?:coming|outside)\\s+(?:for\\s+${YOU}|${YOUR}\\s+(?:house|home))`),
  rule('threat_youre_dead', 'threat', 'high', 'norm',
    `\\b(?:${YOU}'?re|you\\s+are|${YOU}\\s+r|ur|your|youre)\\s+(?:so\\s+|fucking\\s+|fkn\\s+|already\\s+|gonna\\s+be\\s+|going\\s+to\\s+be\\s+)?${stretch('dead')}(?:\\s+meat)?\\b(?!\\s+(?:wrong|on|right|serious|set|tired|last|inside|cute|funny|ass\\s+funny))`),
  rule('threat_you_will_die', 'threat', 'high', 'norm',
    `\\b${YOU}\\s*(?:will|'ll|ll|gonna|are\\s+going\\s+to|r\\s+gonna|'re\\s+gonna|re\\s+gonna)\\s+(?:${stretch('die')}|be\\s+(?:killed|dead|shot|stabbed)|get\\s+(?:shot|stabbed|killed|hurt|raped))\\b(?!\\s+(?:laughing|of\\s+laughter|happy))`),
  rule('threat_kys', 'threat', 'high', 'norm',
    `\\b(?:${stretch('kys')}|${stretch('kill')}\\s+(?:${YOUR}\\s*self|yo\\s*self|urself|yourselves)|go\\s+${stretch('die')}|hope\\s+${YOU}\\s+(?:${stretch('die')}|get\\s+(?:cancer|killed|raped))|${YOU}\\s+should(?:\\s+(?:just|really|honestly|all|literally|go|seriously))*\\s+(?:${stretch('die')}|${stretch('kill')}\\s+${YOUR}\\s*self)|drink\\s+bleach|(?:neck|hang)\\s+${YOUR}\\s*self)\\b`),
  rule('threat_mass_violence', 'threat', 'critical', 'norm',
    `\\b(?:shoot|bomb|blow)\\s+up\\s+(?:the|this|your|ur|a|my)\\s+(?:school|place|house|stream|studio|office|building|mall|church|mosque|synagogue)\\b`),
  // ── sexual harassment ──
  rule('sexual_show_body', 'sexual_harassment', 'high', 'norm',
    `\\b(?:show|flash|shw|lemme\\s+see|let\\s+me\\s+see|let\\s+us\\s+see)\\s+(?:me\\s+|us\\s+)?(?:${YOUR}\\s+|those\\s+|them\\s+|the\\s+|some\\s+)?(?:${stretch('tits', 'titties', 'tiddies', 'boobs', 'boobies', 'breasts', 'nipples', 'ass', 'butt', 'pussy', 'vagina', 'dick', 'cock', 'penis', 'nudes', 'panties', 'privates', 'cleavage', 'feet', 'body')})\\b`),
  rule('sexual_take_off', 'sexual_harassment', 'high', 'norm',
    `\\b(?:take|pull|rip|strip)\\s+(?:it|that|them|(?:${YOUR}|the|those)\\s+(?:top|shirt|bra|clothes|pants|panties|dress|underwear|jeans|skirt|bikini))\\s+off\\b(?!\\s+(?:the|of|from|my|his|list|stove|shelf|table|hook|menu|market))|\\btake\\s+off\\s+(?:${YOUR}|the|those)\\s+(?:top|shirt|bra|clothes|pants|panties|dress|underwear|skirt|bikini)\\b|\\bstrip\\s+(?:for\\s+(?:me|us)|naked)\\b|\\bget\\s+naked\\b`),
  rule('sexual_send_nudes', 'sexual_harassment', 'high', 'norm',
    `\\bsend\\s+(?:me\\s+|us\\s+)?(?:${stretch('nudes', 'noods')}|nude\\s+pics|naked\\s+pics|dick\\s+pics|pics\\s+of\\s+${YOUR}\\s+(?:body|tits|boobs|ass|feet))\\b|\\b${stretch('nudes')}\\s+(?:pls|please|plz|now)\\b`),
  rule('sexual_demand', 'sexual_harassment', 'high', 'norm',
    `\\b(?:i\\s+(?:want|wanna|would|'?d|will|'?ll|gonna)\\s+(?:to\\s+)?|let\\s+me\\s+|lemme\\s+|can\\s+i\\s+|wanna\\s+|ima\\s+|imma\\s+)(?:${stretch('fuck', 'bang', 'smash', 'grope', 'lick', 'suck', 'finger', 'ride', 'spank', 'molest', 'cum on', 'breed')})\\s+(?:${YOU}|${YOUR}|that\\s+(?:ass|pussy|body)|those\\s+(?:tits|titties|boobs))\\b`),
  rule('sexual_lewd_command', 'sexual_harassment', 'high', 'norm',
    `\\b(?:suck|lick|ride|sit\\s+on)\\s+(?:my|this)\\s+(?:${stretch('dick', 'cock', 'face', 'balls', 'penis', 'tongue')})\\b|\\b(?:open|spread)\\s+(?:${YOUR}|them|those)\\s+legs\\b|\\bbend\\s+over\\s+(?:for\\s+(?:me|us)|baby|babe|bitch|slut)\\b`),
  // ── self-harm (support, never punishment) ──
  rule('self_harm_myself', 'self_harm', 'high', 'norm',
    `\\b(?:${stretch('kill')}(?:ing)?|${stretch('off')}(?:ing)?|hang(?:ing)?|harm(?:ing)?|cutting|(?:want|wanna|going|gonna|need|should|feel\\s+like|urge\\s+to)\\s+(?:to\\s+)?(?:cut|hurt|harm|starve|burn))\\s*my\\s*self\\b|\\bslit(?:ting)?\\s+my\\s+wrists\\b|\\b(?:end|take)\\s+my\\s+(?:own\\s+)?life\\b`),
  rule('self_harm_kms', 'self_harm', 'high', 'norm', '(?<!\\d\\s?)\\b(?:k+m+s+|kms)\\b'),
  rule('self_harm_want_to_die', 'self_harm', 'high', 'norm',
    `\\bi\\s*(?:really\\s+|just\\s+|honestly\\s+|literally\\s+|kinda\\s+|actually\\s+)?(?:(?:want|wanna|wish|hope)\\s+(?:to\\s+)?(?:${stretch('die')}|be\\s+dead|not\\s+exist|disappear\\s+forever|end\\s+(?:it\\s+all|it|my\\s+life|everything))|(?:am\\s+going|'?m\\s+going|'?m\\s+gonna|am\\s+gonna|m\\s+gonna|m\\s+going)\\s+(?:to\\s+)?end\\s+(?:it\\s+all|my\\s+life|everything))\\b(?!\\s+(?:laughing|of|from|lol|lmao|alone|happy|my\\s+hair|in\\s+(?:game|minecraft)))|\\bi\\s+wish\\s+i\\s+(?:was|were)\\s+(?:dead|never\\s+born)\\b|\\b(?:don'?t|do\\s+not|dont)\\s+want\\s+to\\s+(?:live|be\\s+alive|exist)(?:\\s+anymore)?\\b|\\b${stretch('suicidal')}\\b|\\b(?:commit|thinking\\s+(?:about|of)|contemplating|considering)\\s+suicide\\b|\\bself[\\s-]?harm(?:ing)?\\b|\\bno\\s+reason\\s+to\\s+(?:live|keep\\s+going)\\b`),
  // ── a minor's self-disclosure ──
  rule('minor_age', 'minor_disclosure', 'critical', 'plain',
    `\\b(?:${SELF}|i\\s+(?:just\\s+)?turned|i'?ll\\s+be|i\\s+will\\s+be|my\\s+age\\s+is)${QUAL}\\s*(?:(?:1[0-7])(?:${AGE_UNIT}|${CLAUSE_END})|[1-9]${AGE_UNIT}|${NUM_WORDS}(?:${AGE_UNIT}|${CLAUSE_END}))`),
  rule('minor_asl', 'minor_disclosure', 'critical', 'plain',
    `(?:^\\s*|\\basl\\W{0,3})(?:1[0-7])\\s*\\/?\\s*(?:[fm]|yo|y\\/o)\\b|(?<![$€£\\d.])\\b(?:1[0-7])\\s*\\/\\s*[fm]\\b|\\b[fm]\\s*\\/\\s*(?:1[0-7])\\b|\\b(?:1[0-7])\\s*(?:yo|y\\/o|yrs?\\s+old|years?\\s+old)\\s+(?:here|girl|boy|female|male|f|m)\\b`),
  rule('minor_school', 'minor_disclosure', 'critical', 'plain',
    `\\b${SELF}\\s+(?:a\\s+|in\\s+|still\\s+in\\s+|only\\s+in\\s+)?(?:(?:the\\s+)?(?:[1-9]|1[0-2])(?:st|nd|rd|th)\\s+grader?|grade\\s+(?:[1-9]|1[0-2])|year\\s+(?:[1-9]|1[0-3])|middle\\s+school(?:er)?|junior\\s+high|high\\s+school(?:er)?|elementary(?:\\s+school)?|primary\\s+school|(?:a\\s+)?(?:freshman|sophomore|junior)\\s+in\\s+high\\s+school)\\b|\\b(?:[1-9]|1[0-2])(?:st|nd|rd|th)\\s+grader\\b|(?<!\\b(?:was|were|back|when|since)\\b.{0,10})\\b(?:in\\s+)?year\\s+(?:[7-9]|1[0-3])\\b(?!\\s+(?:of|ago|old|later|anniversary|plan|at\\s+uni|university|college))|\\bi\\s+go\\s+to\\s+(?:middle|high|junior\\s+high|elementary)\\s+school\\b|(?<!\\b(?:was|were|back|since|from|after|finished|left|graduated|remember|in\\s+my)\\b[^.!?]{0,14})\\bmiddle\\s+school\\b`),
  // ── personal data ──
  rule('email', 'personal_data', 'high', 'plain', `[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.[a-z]{2,24}\\b`, undefined, ['@']),
  rule('email_spelled', 'personal_data', 'high', 'plain',
    `\\b[a-z0-9][a-z0-9._+-]{1,63}\\s*(?:\\(at\\)|\\[at\\]|\\{at\\}|<at>|\\sat\\s)\\s*(?:(?:gmail|googlemail|yahoo|hotmail|outlook|icloud|aol|protonmail|proton|gmx|yandex)\\b(?:\\s*(?:\\.|\\(dot\\)|\\[dot\\]|\\sdot\\s)\\s*[a-z]{2,3}\\b)?|(?!(?:the|a|an|this|that|my|your)\\b)[a-z0-9-]{2,}\\s*(?:\\(dot\\)|\\[dot\\]|\\{dot\\}|\\sdot\\s)\\s*(?:com|net|org|co|me|io|de|uk|ru)\\b)`, undefined, ['at']),
  rule('phone', 'personal_data', 'high', 'plain', `(?<![\\w$€£¥.,/:#])\\+?\\(?\\d(?:[\\s.()-]{0,3}\\d){6,14}(?![\\w%]|[.,/:]\\d)`, acceptPhone),
  rule('phone_words', 'personal_data', 'medium', 'plain',
    `\\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\\d)[\\s,.-]+){6,}(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\\d)\\b`,
    (m) => (m[0].match(/[a-z]+/g)?.length ?? 0) >= 4),
  rule('street_address', 'personal_data', 'high', 'plain',
    `\\b\\d{1,5}\\s+(?:(?!(?:the|a|an|my|your|down|up|on|of|to|in|at|more|other|miles?|km|blocks?|minutes?|mins?|hours?|hrs?|times?|people|years?|days?|weeks?|months?|long|short|hour|test|good|nice|big)\\b)[a-z][a-z'-]*\\.?\\s+){1,3}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|terrace|highway|hwy|parkway|pkwy)\\b\\.?`),
  // ── contact solicitation (move off platform) ──
  rule('contact_on_platform', 'contact_solicitation', 'high', 'norm',
    `\\b(?:add|dm|pm|message|msg|text|txt|hmu|hit\\s+me\\s+up|find|follow|contact|reach|talk|chat|inbox|call|facetime|link\\s+up|holla|slide\\s+into)\\b(?:\\s+(?:me|us|him|her)\\b)?(?:\\s+[\\w.@-]{1,30})?\\s+(?:on|at|via|thru|through|over|in|@)\\s+(?:my\\s+|the\\s+|his\\s+|her\\s+)?${PLAT}\\b|\\badd\\s+me\\b[^.!?\\n]{0,40}?\\b${PLAT}\\b`),
  rule('contact_platform_me', 'contact_solicitation', 'high', 'norm', `\\b${PLAT}\\s*(?:me|us)\\b(?!\\s+(?:too|neither|either|also))`),
  rule('contact_my_platform', 'contact_solicitation', 'high', 'norm',
    `\\b(?:my|add\\s+my|hit\\s+my|what'?s\\s+(?:${YOUR})|what\\s+is\\s+(?:${YOUR})|drop\\s+(?:${YOUR})|send\\s+(?:me\\s+)?(?:${YOUR})|give\\s+me\\s+(?:${YOUR})|(?:do\\s+)?(?:${YOU})\\s+(?:got|have)|got)\\s+(?:an?\\s+)?${PLAT}\\b(?!\\s+(?:pea|peas|shot|shots|back|crackle|feed|algorithm|explore|judgment|judgement|decisions?|is\\s+down|was\\s+down|got\\s+hacked|was\\s+hacked))`),
  rule('contact_handle', 'contact_solicitation', 'high', 'norm',
    `\\b${PLAT}\\s*(?::|-|=|@|id\\b|handle\\b|username\\b|user\\b|name\\b|tag\\b)\\s*[\\w.@-]{2,}|(?:^|\\s)@[\\w.]{2,30}\\s+(?:on|in|at)\\s+${PLAT}\\b`),
  rule('contact_join_group', 'contact_solicitation', 'high', 'norm',
    `\\b(?:join|come\\s+to|come\\s+join)\\s+(?:my|our|the|us\\s+on|me\\s+on)\\s+(?:private\\s+|vip\\s+|secret\\s+)?${stretch('discord', 'telegram', 'whatsapp', 'kik', 'signal')}(?:\\s+(?:group|server|channel|chat))?\\b`),
  // ── off-platform payment ──
  rule('payment_app', 'off_platform_payment', 'high', 'norm',
    `\\b(?:my|your|ur|on|via|thru|through|to|send|sent|pay|tip|tips|add|hit|use|accept|take)\\b[^.!?\\n]{0,20}?\\b${PAY}\\b|\\b${PAY}\\s*(?:me\\b|:|@|\\$|is\\b|handle\\b|name\\b|id\\b|tag\\b|link\\b|only\\b)`),
  rule('cashtag', 'off_platform_payment', 'high', 'plain', `(?<![\\w$])\\$(?!(?:usd|cad|aud|eur|gbp|btc|eth|spy|tsla|aapl|hit|hits|hitty|lut|luts|ex|exy|uck|ucker|tupid)\\b)[a-z][a-z0-9_]{1,19}\\b`, undefined, ['$']),
  rule('paypal_me', 'off_platform_payment', 'high', 'plain', `\\b(?:paypal\\.me|venmo\\.com|cash\\.app)\\/[\\w.-]+`, undefined, ['/']),
  rule('wallet_btc', 'off_platform_payment', 'high', 'plain', `\\b(?:bc1[a-z0-9]{25,59}|[13][a-z1-9]{25,34})\\b`, acceptWallet),
  rule('wallet_eth', 'off_platform_payment', 'high', 'plain', `\\b0x[a-f0-9]{40}\\b`, undefined, ['0x']),
  rule('crypto_ask', 'off_platform_payment', 'high', 'norm',
    `\\b(?:send|pay|tip|donate)\\b[^.!?\\n]{0,25}?\\b(?:btc|bitcoin|eth|ethereum|crypto|usdt|monero|xmr|ltc|gift\\s*cards?|amazon\\s+card|steam\\s+card)\\b|\\b(?:my|our)\\s+(?:btc|bitcoin|eth|ethereum|crypto|usdt)\\s+(?:wallet|address|addy)\\b`),
  rule('paid_site', 'off_platform_payment', 'medium', 'norm', `\\b${stretch('onlyfans', 'only fans', 'fansly', 'manyvids')}\\b`),
  // ── spam (caps floods and repeated words are measured in analyzer.ts) ──
  rule('char_flood', 'spam', 'low', 'plain', '([^\\s\\d])\\1{11,}'),
  rule('promo', 'spam', 'medium', 'plain', `\\b(?:free|cheap)\\s+(?:followers|viewers|views|subs|tokens|likes)\\b|\\b(?:follow\\s+for\\s+follow|f4f|sub4sub|sub\\s+for\\s+sub|l4l)\\b`),
  // ── links ──
  rule('shortener', 'link', 'high', 'plain', `\\b(?:${SHORTENERS})(?:\\/[^\\s]*)?|\\b(?:bit|tinyurl|goo|cutt|rb|linktr|tiny)\\s*(?:\\(dot\\)|\\[dot\\]|\\sdot\\s|\\s\\.\\s?|\\.\\s)\\s*(?:ly|com|gl|gy|ee|cc)\\b(?:\\s*\\/\\s*[\\w-]+)?`),
  rule('url', 'link', 'medium', 'plain', '\\b(?:https?:\\/\\/|www\\.)[^\\s<>"]+', undefined, ['http', 'www.']),
  rule('domain', 'link', 'medium', 'plain', `(?<![@\\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+(?:${TLD})\\b(?:\\/[^\\s]*)?`, undefined, ['.']),
  rule('domain_spelled', 'link', 'medium', 'plain', `\\b(?!(?:the|a|an|this|that|my|your)\\b)[a-z0-9-]{2,}\\s*(?:\\(dot\\)|\\[dot\\]|\\{dot\\}|\\sdot\\s)\\s*(?:com|net|org|io|gg|tv|me|co|xyz)\\b`, undefined, ['dot']),
];

/** Emoji floods: ten or more pictographs with little else around them. */
export const EMOJI_FLOOD = /(?:\p{Extended_Pictographic}[\uFE0F\u200D\s]*){10,}/gu;
