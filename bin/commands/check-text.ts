/** `warden check-text`: UTF-8 lines on stdin, one JSON verdict line each on stdout. Needs neither Postgres nor Redis. */
import type { Config } from '../../core/config.ts';
import { TextAnalyzer, runCheckText } from '../../analyzer/text/index.ts';
import { decideMessage, loadPolicy } from '../../rules/index.ts';

export async function runCheckTextCommand(config: Config): Promise<number> {
  const policy = await loadPolicy(config.policyFile);
  const analyzer = new TextAnalyzer();
  return runCheckText(process.stdin, process.stdout, (a) => decideMessage(policy.chat, a.matches).verdict, analyzer);
}
