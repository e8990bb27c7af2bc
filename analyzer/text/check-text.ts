/**
 * `check-text`: UTF-8 lines in, one JSON verdict line out per line, plus the default platform decision.
 * The decision function is separate and pure so a YAML policy can replace it.
 */
import { createInterface } from 'node:readline';
import { TextAnalyzer } from './analyzer.ts';
import type { TextAnalysis, TextCategory, TextMatch } from './types.ts';

/** What happens to a message: delivered; delivered and flagged; held for review (not delivered); blocked. */
export type TextAction = 'allow' | 'flag' | 'hold' | 'block';

/** One output line of {@link runCheckText}. */
export interface CheckTextLine {
  text: string;
  action: TextAction;
  categories: TextCategory[];
  matches: Pick<TextMatch, 'category' | 'severity' | 'start' | 'end' | 'rule'>[];
}



/**
 * Reads UTF-8 lines from `input` (LF or CRLF; completely empty lines are skipped) and writes one JSON line per
 * line to `out`: `{"text","action","categories":[...],"matches":[{"category","severity","start","end","rule"}]}`
 * (`start`/`end` are UTF-16 offsets into `text`). Honours back-pressure on `out`.
 * @param decide maps an analysis to an action (the CLI uses the policy's chat verdicts: rules' decideMessage).
 * @param analyzer reused for every line; a new {@link TextAnalyzer} unless given.
 * @returns the process exit code, 0 once the input has ended.
 * @throws whatever `decide` or the streams throw (a broken check never passes content silently).
 */
export async function runCheckText(
  input: NodeJS.ReadableStream,
  out: NodeJS.WritableStream,
  decide: (a: TextAnalysis) => TextAction,
  analyzer: TextAnalyzer = new TextAnalyzer(),
): Promise<number> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const text of lines) {
    if (text.length === 0) continue;
    const a = analyzer.analyze(text);
    const line: CheckTextLine = {
      text, action: decide(a), categories: a.categories,
      matches: a.matches.map((m) => ({ category: m.category, severity: m.severity, start: m.start, end: m.end, rule: m.rule })),
    };
    if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  return 0;
}
