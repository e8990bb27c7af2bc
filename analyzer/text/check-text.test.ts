import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TextAnalyzer } from './analyzer.ts';
import { runCheckText, type CheckTextLine, type TextAction } from './check-text.ts';
import { DEFAULT_POLICY_FILE, decideMessage, loadPolicySync } from '../../rules/index.ts';
import type { TextAnalysis } from './types.ts';

const chat = loadPolicySync(DEFAULT_POLICY_FILE).chat;
const defaultTextAction = (a: TextAnalysis): TextAction => decideMessage(chat, a.matches).verdict;

const analyzer = new TextAnalyzer();
const action = (t: string) => defaultTextAction(analyzer.analyze(t));

async function run(input: string, decide?: Parameters<typeof runCheckText>[2]): Promise<{ code: number; lines: CheckTextLine[] }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await runCheckText(Readable.from([Buffer.from(input, 'utf8')]), out, decide ?? defaultTextAction, analyzer);
  const text = Buffer.concat(chunks).toString('utf8');
  return { code, lines: text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CheckTextLine) };
}

describe('defaultTextAction', () => {
  it('flags self-harm for support and never blocks it', () => {
    expect(action('i want to kill myself')).toBe('flag');
    expect(action('kms')).toBe('flag');
  });
  it('blocks slurs, threats, personal data, payment and contact solicitation', () => {
    for (const t of ['you n1gger', 'I will kill you', 'my number is 555-123-4567', 'my cashapp is $kim3', 'add me on snapchat']) expect(action(t), t).toBe('block');
  });
  it('holds a minor’s disclosure for review', () => {
    expect(action('im 14 and my mom doesnt know im here')).toBe('hold');
  });
  it('flags profanity, spam and plain links; blocks shorteners; allows clean text', () => {
    expect(action('this is bullshit')).toBe('flag');
    expect(action('OMG THIS IS THE BEST STREAM EVER')).toBe('flag');
    expect(action('see www.example.com')).toBe('flag');
    expect(action('see bit.ly/x')).toBe('block');
    expect(action('greetings from Scunthorpe!')).toBe('allow');
  });
});

describe('runCheckText', () => {
  it('writes one JSON line per input line with spans into that line', async () => {
    const { code, lines } = await run('hello there\r\nadd me on snаpchat bob\n\ni want to kill myself\n');
    expect(code).toBe(0);
    expect(lines.map((l) => l.action)).toEqual(['allow', 'block', 'flag']);
    expect(lines[1]).toMatchObject({ text: 'add me on snаpchat bob', categories: ['contact_solicitation'] });
    const m = lines[1]!.matches[0]!;
    expect(Object.keys(m).sort()).toEqual(['category', 'end', 'rule', 'severity', 'start']);
    expect(lines[1]!.text.slice(m.start, m.end)).toBe('add me on snаpchat');
  });
  it('uses the decision function it is given', async () => {
    const { lines } = await run('this is bullshit\n', (a) => (a.categories.includes('profanity') ? 'block' : 'allow'));
    expect(lines[0]!.action).toBe('block');
  });
  it('propagates a failing decision instead of passing content', async () => {
    await expect(run('x\n', () => { throw new Error('policy broke'); })).rejects.toThrow('policy broke');
  });
});
