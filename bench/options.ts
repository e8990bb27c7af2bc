/**
 * The bench's command line (see bench/index.ts's header for what each option does): parsed here, apart from the
 * measuring modules, so the report's tests can check it without loading them.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { SECTIONS, type SectionName } from './report.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Parsed command line of the bench. */
export interface BenchOptions { json: boolean; quick: boolean; only: SectionName[] | null; out: string }

/**
 * Parses the bench's arguments (bench/index.ts's header describes them). @throws Error with a readable message on an unknown option or
 * section name.
 */
export function parseBenchArgs(argv: string[]): BenchOptions & { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true, allowPositionals: false,
  });
  let only: SectionName[] | null = null;
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim()).filter(Boolean).flatMap((s) => (s === 'gates' ? ['faces', 'panic', 'ban'] : [s]));
    const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
    if (unknown.length || !names.length) throw new Error(`--only: unknown section ${unknown.join(', ') || '(none given)'}; sections: ${SECTIONS.join(', ')}, gates`);
    only = SECTIONS.filter((s) => names.includes(s));
  }
  return { json: values.json!, quick: values.quick!, only, out: path.resolve(values.out ?? path.join(root, 'bench-report')), help: values.help! };
}
