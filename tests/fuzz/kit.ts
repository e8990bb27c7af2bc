/**
 * The fuzz suite's kit: a Warden node run as its own process (`warden ingest`: API, chat and RTMP ingest, no
 * analyzer) so a crash is seen as the process exiting rather than taking the test with it; row counts of every
 * table (to prove a refused input wrote nothing but the audit entry that says so); the tally printed at the end;
 * and the hostile strings the generators draw from.
 *
 * Inputs are drawn with fast-check from one seed (`FUZZ_SEED`, default: the clock), printed first, so a failing
 * run is replayed with `FUZZ_SEED=<seed> npx vitest run tests/fuzz`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Sql } from 'postgres';
import { freePort, waitFor, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The seed of this run (printed by the suite; set FUZZ_SEED to replay one). */
export const SEED = Number(process.env.FUZZ_SEED ?? (Date.now() % 2 ** 31));

/** Draws `n` values of an arbitrary, deterministically from the run's seed and a per-call salt. */
export function draw<T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] {
  return fc.sample(arb, { seed: (SEED + salt * 7919) | 0, numRuns: n });
}

/** The verification providers' webhook secret the node is given (so the webhook route is exercised, not 503). */
export const WEBHOOK_SECRET = 'fuzz-webhook-secret-0123456789abcdef';

/** A Warden node in its own process, with its log lines (error level) kept for the report. */
export interface FuzzNode {
  httpUrl: string;
  rtmpPort: number;
  nodeId: string;
  child: ChildProcess;
  /** The lines the node wrote to stderr (pino JSON at its LOG_LEVEL: error for the fuzz suite). */
  errors: string[];
  /** Set when the process exited (a crash while the suite runs). */
  exited: { code: number | null; signal: string | null } | null;
  stop(): Promise<void>;
}

/**
 * Starts `bin/warden <role>` against the test env's database and Redis prefix, waits for /readyz.
 * @param extraEnv more variables (e.g. NODE_ID, INGEST_HOOK_SECRET).
 */
export async function startNode(env: TestEnv, role: 'ingest' | 'serve' | 'worker', extraEnv: Record<string, string> = {}, opts: { ready?: string } = {}): Promise<FuzzNode> {
  const [httpPort, rtmpPort] = [await freePort(), await freePort()];
  const child = spawn(path.join(root, 'bin/warden'), [role], {
    env: {
      PATH: process.env.PATH!, HOME: process.env.HOME!, DATABASE_URL: env.config.databaseUrl, REDIS_URL: env.config.redisUrl,
      REDIS_PREFIX: env.config.redisPrefix, HTTP_PORT: String(httpPort), HTTP_HOST: '127.0.0.1', RTMP_PORT: String(rtmpPort), RTMP_HOST: '127.0.0.1',
      DATA_DIR: path.join(env.config.dataDir, `node-${httpPort}`), NODE_ID: `fuzz-${httpPort}`, WORKER_PROCESSES: '0', AUDIO_CONCURRENCY: '0',
      DATA_KEY: env.config.dataKey ?? '', VERIFICATION_WEBHOOK_SECRETS: WEBHOOK_SECRET, INGEST_HOOK_SECRET: WEBHOOK_SECRET, LOG_LEVEL: 'error', ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const node: FuzzNode = {
    httpUrl: `http://127.0.0.1:${httpPort}`, rtmpPort, nodeId: extraEnv.NODE_ID ?? `fuzz-${httpPort}`, child, errors: [], exited: null,
    async stop() {
      if (node.exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
      if (!node.exited) child.kill('SIGKILL');
    },
  };
  let buf = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() && node.errors.length < 500_000) node.errors.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    }
  });
  child.once('exit', (code, signal) => { node.exited = { code, signal }; });
  await waitFor(async () => {
    if (node.exited) throw new Error(`the node exited while starting: ${JSON.stringify(node.exited)}\n${node.errors.join('\n')}`);
    // a worker has no HTTP server: it is ready when it logs `opts.ready`
    if (opts.ready) return node.errors.some((l) => l.includes(opts.ready!));
    return (await fetch(`${node.httpUrl}/readyz`).catch(() => null))?.ok;
  }, `the ${role} node ready`, 120_000, 250);
  return node;
}

/** Row counts of every table in the public schema (drizzle's own bookkeeping left out), in one round trip. */
export async function tableCounts(sql: Sql): Promise<Record<string, number>> {
  const tables = await sql<{ name: string }[]>`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`;
  if (!tables.length) return {};
  const rows = await sql.unsafe(`select ${tables.map((t) => `(select count(*) from "${t.name}")::int as "${t.name}"`).join(', ')}`);
  return rows[0] as Record<string, number>;
}

/** Tables whose counts differ, with the difference. */
export function diffCounts(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** What the suite saw, printed at the end. */
export class Tally {
  tried = 0;
  refused = 0;
  accepted = 0;
  fiveXx = 0;
  hangs = 0;
  crashes = 0;
  /** Per input kind: tried / refused / accepted. */
  readonly kinds = new Map<string, { tried: number; refused: number; accepted: number }>();
  /** What went wrong (5xx, hangs, wrong shapes, stray rows): each a line naming the input. */
  readonly problems: string[] = [];

  /** Counts one input's outcome under `kind`. */
  count(kind: string, outcome: 'refused' | 'accepted'): void {
    this.tried++;
    this[outcome]++;
    const k = this.kinds.get(kind) ?? { tried: 0, refused: 0, accepted: 0 };
    k.tried++;
    k[outcome]++;
    this.kinds.set(kind, k);
  }

  problem(line: string): void {
    if (this.problems.length < 200) this.problems.push(line);
  }

  report(): string {
    const lines = [`fuzz seed ${SEED}`];
    for (const [k, v] of [...this.kinds].sort()) lines.push(`  ${k.padEnd(34)} tried ${String(v.tried).padStart(5)}  refused ${String(v.refused).padStart(5)}  accepted ${String(v.accepted).padStart(5)}`);
    lines.push(`inputs tried: ${this.tried}, refused: ${this.refused}, accepted: ${this.accepted}, 5xx: ${this.fiveXx}, hangs: ${this.hangs}, crashes: ${this.crashes}`);
    if (this.problems.length) lines.push('problems:', ...this.problems.map((p) => `  ${p}`));
    return lines.join('\n');
  }
}

/** Truncates an input for a report line. */
export function show(v: unknown, max = 120): string {
  const s = typeof v === 'string' ? v : (() => { try { return JSON.stringify(v); } catch { return String(v); } })() ?? String(v);
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…(${s.length})` : s);
}

// ---- hostile strings ----

/** Path traversal, in the spellings servers have been fooled by. */
export const TRAVERSAL = [
  '../../../../etc/passwd', '..%2f..%2f..%2fetc%2fpasswd', '%2e%2e/%2e%2e/etc/passwd', '..\\..\\windows\\win.ini', '....//....//etc/passwd',
  '%252e%252e%252fetc%252fpasswd', '..%c0%af..%c0%afetc/passwd', '/etc/passwd', 'file:///etc/passwd', '..;/..;/package.json', '%2e%2e%5c%2e%2e%5cpackage.json',
  '../../package.json', '.env', '../.git/config', '%00', 'x%00.jpg', '..%00/', '.%2e/.%2e/.%2e/etc/passwd',
];
/** SQL injection, for Postgres and in general. */
export const SQLI = [
  "' OR '1'='1", "'; DROP TABLE users; --", "1; select pg_sleep(5)--", "' UNION SELECT password_hash FROM accounts--", "\\'; --",
  "00000000-0000-4000-8000-000000000000' OR 1=1--", "$$; select 1; $$", "1' AND (SELECT 1 FROM pg_sleep(3))='1", "%' OR 1=1 --", "admin'--",
];
/** Unicode that has broken text handling: astral, RTL overrides, combining marks, zero-width, NUL, lone surrogates, BOM. */
export const UNICODE = [
  '😀👩‍👩‍👧‍👦🏳️‍🌈', '\u202Egnp.exe', 'مرحبا بالعالم \u200F', 'Z̷̧̛̤͈͈̖̗͔͎͎̩̬̝̆̈́̾͒̓̽̂a̸̡͓̼͙̤͈͚̤̹̎̋̈́̍͂ĺ̶g̶o̴', 'a\u200Bd\u200Cd\u200D m\uFEFFe', '\u0000', 'nul\u0000in the middle',
  '\uD800', 'lone \uDFFF surrogate', '\uFFFF\uFFFE', '𝕬𝖉𝖉 𝖒𝖊 𝖔𝖓 𝖘𝖓𝖆𝖕', '\u0301\u0301\u0301', '\r\n\r\nX-Injected: 1', '\u2028\u2029', '\u001b[31mred\u001b[0m',
  'ﷺ'.repeat(50), '\uDBFF\uDFFF',
];
/** Keys that pollute prototypes when merged naively. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

/** Numbers out of every range a schema might have. */
export const WILD_NUMBERS = [-1, 0, 1e308, -1e308, 2 ** 53 + 1, -(2 ** 31), 2 ** 31, 2 ** 63, 1.5, -0, 1e-320, 99999999999999999999];

/** Any hostile string: the fixed lists, over-long ones and random Unicode (any code point, graphemes). */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...TRAVERSAL, ...SQLI, ...UNICODE, ...PROTO_KEYS),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((n) => String.fromCharCode(n)), minLength: 1, maxLength: 8 }),
  fc.tuple(fc.constantFrom('a', 'é', '😀', '\u200B', "'"), fc.integer({ min: 1000, max: 70_000 })).map(([c, n]) => c.repeat(n)),
);

/** Any JSON value that is the wrong kind for something: numbers out of range, nested junk, prototype keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom<unknown>(...WILD_NUMBERS, null, true, false, [], {}, [null], { $ne: null }, { __proto__: { admin: true } }),
  fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(hostileString, { maxLength: 5 }),
  fc.dictionary(fc.constantFrom(...PROTO_KEYS, 'a', 'id'), fc.constantFrom<unknown>(1, 'x', null, { polluted: true }), { maxKeys: 3 }),
);
