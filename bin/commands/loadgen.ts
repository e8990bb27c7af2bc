/**
 * `warden loadgen --streams N [--viewers M] [--chat-rate R] [--seconds S] [--url rtmp://… --api http://… --keys FILE
 * [--tokens FILE]]`: load a running Warden (bench/loadgen.ts) and report what it saw, readable lines then one JSON line.
 * Loopback by default; anything else only with both URLs given and the keys from a file. Exit 0 when the load ran,
 * 2 when the invocation is refused (the message says why), 1 when the run failed.
 */
import type { Config } from '../../core/config.ts';
import { LoadgenRefusal, readLines, runLoadgen, type LoadgenOptions } from '../../bench/loadgen.ts';

/** The options as parsed from the command line (strings, as node:util parseArgs gives them). */
export interface LoadgenArgs {
  streams?: string; viewers?: string; 'chat-rate'?: string; seconds?: string; url?: string; api?: string; keys?: string; tokens?: string;
}

export const loadgenUsage = 'usage: warden loadgen --streams N [--viewers M] [--chat-rate R] [--seconds S] [--url rtmp://HOST:PORT/live --api http://HOST:PORT --keys FILE [--tokens FILE]]';

/**
 * Validates the arguments into options (numbers in range, chat needing viewers, files read).
 * @throws LoadgenRefusal naming the bad argument.
 */
export async function parseLoadgenArgs(a: LoadgenArgs): Promise<LoadgenOptions> {
  const num = (v: string | undefined, flag: string, dflt: number | undefined, min: number, max: number, int: boolean): number => {
    if (v === undefined) {
      if (dflt === undefined) throw new LoadgenRefusal(`${flag} is required`);
      return dflt;
    }
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) {
      throw new LoadgenRefusal(`${flag}: expected ${int ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${v}"`);
    }
    return n;
  };
  const streams = num(a.streams, '--streams', undefined, 1, 1000, true);
  const viewers = num(a.viewers, '--viewers', 0, 0, 20_000, true);
  const chatRate = num(a['chat-rate'], '--chat-rate', 0, 0, 10_000, false);
  const seconds = num(a.seconds, '--seconds', 30, 1, 3600, false);
  if (chatRate > 0 && viewers === 0) throw new LoadgenRefusal('--chat-rate needs --viewers: someone has to post');
  return {
    streams, viewers, chatRate, seconds, url: a.url, api: a.api,
    keys: a.keys !== undefined ? await readLines(a.keys, '--keys') : undefined,
    tokens: a.tokens !== undefined ? await readLines(a.tokens, '--tokens') : undefined,
  };
}

/** Runs the command; returns the exit code. */
export async function runLoadgenCommand(config: Config, args: LoadgenArgs): Promise<number> {
  try {
    const opts = await parseLoadgenArgs(args);
    const report = await runLoadgen({ ...opts, config, print: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof LoadgenRefusal) {
      process.stderr.write(`warden loadgen: ${err.message}\n${loadgenUsage}\n`);
      return 2;
    }
    process.stderr.write(`warden loadgen: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
