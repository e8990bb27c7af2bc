// Bad input, every public door: API bodies, queries and path parameters on every declared route, the
// verification upload, chat frames over the real WebSocket, RTMP garbage and absurd stream keys, and the static
// and HTTP-FLV paths. The node under test is a separate `warden ingest` process on a throw-away database, so a
// crash is a process that exited. Each input must be refused cleanly (4xx with `{ error: { code, message } }`, a
// chat refusal or close code, a dropped RTMP connection) or accepted, never answered 5xx, never left hanging,
// and a refused input must leave no new row but the audit entry that records the refusal. After each batch the
// node answers /healthz and a normal request. Figures are printed at the end; the seed first (FUZZ_SEED replays).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createApi } from '../../api/index.ts';
import type { RouteSpec } from '../../api/route.ts';
import { seedSession } from '../../bin/seed.ts';
import { createTestEnv, type TestEnv } from '../harness.ts';
import { seedBroadcast, seedCase, seedStaff, type Staff } from '../review-fixtures.ts';
import {
  PROTO_KEYS, SEED, SQLI, TRAVERSAL, UNICODE, Tally, WEBHOOK_SECRET, WILD_NUMBERS, diffCounts, draw, hostileString, hostileValue, show, startNode, tableCounts,
  type FuzzNode,
} from './kit.ts';
import { RtmpConn, chunked, command } from './rtmp-client.ts';

let env: TestEnv;
let node: FuzzNode;
let staff: Awaited<ReturnType<typeof seedStaff>>;
let specs: RouteSpec[];
const tally = new Tally();
const SOME_ID = '00000000-0000-4000-8000-000000000000';
const REQUEST_TIMEOUT_MS = 15_000;

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED} npx vitest run tests/fuzz)`);
  env = await createTestEnv();
  specs = createApi({ ctx: env.ctx }).specs; // the routes as declared (the node serves the same ones)
  staff = await seedStaff(env.ctx.db, 'fz');
  const victim = await seedBroadcast(env.ctx.db, env.config.dataDir, 'fz-victim');
  realIds.push(victim.broadcastId, await seedCase(env.ctx.db, victim), victim.userId, victim.sampleId);
  node = await startNode(env, 'ingest');
  // the victim's broadcast is held by the node under test (as if published there), so plays of it are answered
  await env.ctx.database.sql`update broadcasts set ingest_node = ${node.nodeId} where id = ${realIds[0]!}`;
}, 120_000);

afterAll(async () => {
  if (node?.exited && tally.crashes === 0) tally.crashes++;
  console.log(tally.report());
  if (node?.errors.length) console.log(`node log (errors), ${node.errors.length} lines; first ones:\n${node.errors.slice(0, 15).join('\n')}`);
  await node?.stop();
  await env?.cleanup();
});

/** The node is still up: /healthz answers and a signed-in request works. Fails the batch otherwise. */
async function survives(batch: string): Promise<void> {
  if (node.exited) {
    tally.crashes++;
    throw new Error(`the node died during ${batch}: ${JSON.stringify(node.exited)}\n${node.errors.slice(-20).join('\n')}`);
  }
  const health = await fetch(`${node.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
  expect(health.status, `${batch}: /healthz`).toBe(200);
  const me = await fetch(`${node.httpUrl}/api/me`, { headers: { authorization: `Bearer ${staff.moderator.token}` }, signal: AbortSignal.timeout(5000) });
  expect(me.status, `${batch}: GET /api/me`).toBe(200);
}

// ---- HTTP ----

interface Answer { status: number; body: unknown; text: string; ms: number }

/**
 * One HTTP request to the node, on a connection of its own (no keep-alive: a connection the server closed after
 * refusing an oversized body is never reused for the next input). A hang (no answer within the timeout) is status
 * 0; the server closing the connection without an answer is -1. SSE answers are cut after their headers.
 */
async function request(method: string, url: string, init: { headers?: Record<string, string>; body?: string | Buffer | FormData | null; timeoutMs?: number } = {}): Promise<Answer> {
  const t0 = Date.now();
  let body = init.body ?? undefined;
  const headers = { ...init.headers };
  if (body instanceof FormData) {
    const r = new Response(body);
    headers['content-type'] ??= r.headers.get('content-type')!;
    body = Buffer.from(await r.arrayBuffer());
  }
  return new Promise((resolve) => {
    const done = (a: Omit<Answer, 'ms'>) => { clearTimeout(timer); resolve({ ...a, ms: Date.now() - t0 }); };
    const req = http.request(`${node.httpUrl}${url}`, { method, agent: false, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body as string | Buffer)) } : {}) } }, (res) => {
      if (res.headers['content-type']?.startsWith('text/event-stream')) { res.destroy(); return done({ status: res.statusCode ?? 0, body: null, text: '' }); }
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', () => done({ status: -1, body: null, text: 'the answer was cut' }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = null;
        try { parsed = text ? JSON.parse(text) : null; } catch { parsed = undefined; }
        done({ status: res.statusCode ?? 0, body: parsed, text });
      });
    });
    const timer = setTimeout(() => { req.destroy(); done({ status: 0, body: null, text: '' }); }, init.timeoutMs ?? REQUEST_TIMEOUT_MS);
    // the server closing the connection on an oversized or broken request is a refusal, not a failure
    req.on('error', (err) => done({ status: -1, body: null, text: String(err) }));
    req.end(body);
  });
}

/** POSTs `chunks` × `size` bytes with chunked transfer encoding (no content-length) on a fresh connection. */
function chunkedPost(url: string, token: string, chunks: number, size: number): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = http.request(`${node.httpUrl}${url}`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => { text += d; }).on('end', () => {
        let body: unknown; try { body = JSON.parse(text); } catch { body = undefined; }
        resolve({ status: res.statusCode ?? 0, body, text, ms: Date.now() - t0 });
      });
    });
    req.on('error', (err) => resolve({ status: -1, body: null, text: String(err), ms: Date.now() - t0 }));
    req.setTimeout(REQUEST_TIMEOUT_MS, () => { req.destroy(); resolve({ status: 0, body: null, text: '', ms: Date.now() - t0 }); });
    let i = 0;
    const next = () => { while (i < chunks) { i++; if (!req.write(`{"x":"${'a'.repeat(size)}`)) return void req.once('drain', next); } req.end(); };
    next();
  });
}

const isErrorBody = (b: unknown): boolean => {
  const e = (b as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e?.code === 'string' && typeof e.message === 'string';
};

/**
 * Judges one answer: a 5xx or a hang is a problem; a 4xx must carry `{ error: { code, message } }` (unless
 * `anyBody`); a closed connection counts as refused. @returns the outcome counted.
 */
function judge(kind: string, what: string, a: Answer, opts: { anyBody?: boolean } = {}): 'refused' | 'accepted' {
  if (a.status === 0) { tally.hangs++; tally.problem(`${kind}: no answer in ${REQUEST_TIMEOUT_MS} ms: ${what}`); }
  else if (a.status >= 500) { tally.fiveXx++; tally.problem(`${kind}: ${a.status} ${show(a.text, 200)} for ${what}`); }
  // 431: Node's HTTP parser refuses headers (a query) past 16 KiB before the app sees the request
  else if (a.status >= 400 && a.status !== 431 && !opts.anyBody && !isErrorBody(a.body)) tally.problem(`${kind}: ${a.status} without {error:{code,message}}: ${show(a.text)} for ${what}`);
  const outcome = a.status >= 200 && a.status < 400 ? 'accepted' : 'refused';
  tally.count(kind, outcome);
  return outcome;
}

/** Audit actions that record a refusal (allowed as the only new rows after a refused input). */
const REFUSAL_ACTION = /^refuse_|_refused$|^login_failed$/;
/**
 * Audit entries written in the background by what an earlier input was allowed to do (a panic press the fuzzer
 * made is escalated 30 s later while nobody acknowledges it): not the refused input's doing.
 */
const BACKGROUND_ACTIONS = new Set(['escalate_alert']);

/**
 * Runs one state-changing request between two row counts: a refused one must add no row except audit entries
 * (whose actions are reported), an accepted one may write what it wrote.
 */
async function guarded(kind: string, what: string, run: () => Promise<Answer>, opts: { anyBody?: boolean } = {}): Promise<'refused' | 'accepted'> {
  const before = await tableCounts(env.ctx.database.sql);
  const a = await run();
  const outcome = judge(kind, what, a, opts);
  const after = await tableCounts(env.ctx.database.sql);
  const diff = diffCounts(before, after);
  if (outcome === 'refused') {
    const { actions: audited = 0, ...rest } = diff;
    if (Object.keys(rest).length) tally.problem(`${kind}: refused (${a.status}) but rows were added ${JSON.stringify(rest)}: ${what}`);
    if (audited > 0) {
      const rows = await env.ctx.database.sql<{ action: string }[]>`select action from actions order by id desc limit ${audited}`;
      for (const r of rows) if (!REFUSAL_ACTION.test(r.action) && !BACKGROUND_ACTIONS.has(r.action)) tally.problem(`${kind}: refused (${a.status}) but audited "${r.action}": ${what}`);
    }
  } else await new Promise((r) => setTimeout(r, 20)); // let an accepted request's after-work land before the next baseline
  return outcome;
}

/** The session token a route is called with: a role it admits (admin for staff routes), or none when public. */
function tokenFor(spec: RouteSpec): string | undefined {
  if (spec.access === 'public') return undefined;
  if (spec.access === 'signed-in') return staff.viewer.token;
  const roles = spec.access as readonly string[];
  const by: Record<string, Staff> = { viewer: staff.viewer, performer: staff.performer, moderator: staff.moderator, senior_moderator: staff.senior, admin: staff.admin };
  return by[roles.includes('admin') ? 'admin' : roles[0]!]!.token;
}

type Schema = z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } }; shape?: Record<string, z.ZodType> };

/** Fields whose plausible value must be one the policy knows. */
const KNOWN_VALUES: Record<string, unknown> = { reasonCode: 'harassment', category: 'harassment', birthDate: '1990-01-01', dateOfBirth: '1990-01-01' };

/** A value a schema accepts (roughly: the first enum value, a short string, 1), so mutations reach the handler. */
function plausible(s: Schema | undefined): unknown {
  if (!s) return undefined;
  const d = s._zod.def;
  switch (d.type) {
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'catch': case 'nonoptional':
      return plausible(d.innerType as Schema);
    case 'pipe': return plausible(d.in as Schema);
    case 'string': return d.format === 'uuid' ? SOME_ID : d.format === 'email' ? 'fuzz@example.com' : d.format === 'date' ? '1990-01-01' : 'fuzz_value_12345';
    case 'number': case 'int': return 1;
    case 'boolean': return true;
    case 'enum': return Object.values(d.entries as Record<string, unknown>)[0];
    case 'literal': return (d.values as unknown[])[0];
    case 'object': return Object.fromEntries(Object.entries(s.shape ?? {}).map(([k, v]) => [k, KNOWN_VALUES[k] ?? plausible(v as Schema)]));
    case 'array': return [plausible(d.element as Schema)];
    case 'union': return plausible((d.options as Schema[])[0]);
    default: return 'fuzz';
  }
}

/** Bodies that are not JSON at all, or JSON of the wrong shape. */
const RAW_BODIES = [
  '', '{', '{"a":', '[1,2', '{"a":1,}', "{'a':1}", 'NaN', 'undefined', '\uFEFF{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', 'null', '0', '"str"', 'true', '[]', '1e999',
  '{"a":1e999}', '['.repeat(20_000), '{"a":'.repeat(5000), '{"__proto__":{"isAdmin":true,"role":"admin"}}', '{"constructor":{"prototype":{"polluted":1}}}',
  '{"a":1,"a":2}', '\u0000', '\xff\xfe\x00{', '{"x":"' + '\\'.repeat(1001) + '"}',
];

/** Request bodies for a route: raw junk, its keys with hostile values (one or all), prototype keys, oversized. */
function bodiesFor(spec: RouteSpec, salt: number): { label: string; body: string; contentType?: string }[] {
  const out: { label: string; body: string; contentType?: string }[] = [];
  for (const raw of draw(fc.constantFrom(...RAW_BODIES), 6, salt)) out.push({ label: 'raw', body: raw });
  const base = (plausible(spec.body as Schema) ?? {}) as Record<string, unknown>;
  const keys = typeof base === 'object' && base && !Array.isArray(base) ? Object.keys(base) : [];
  out.push({ label: 'plausible', body: JSON.stringify(base) });
  for (const [i, v] of draw(hostileValue, Math.max(6, keys.length * 3), salt + 1).entries()) {
    const k = keys[i % Math.max(1, keys.length)];
    out.push({ label: 'one hostile field', body: JSON.stringify(k ? { ...base, [k]: v } : v) });
  }
  for (const [i, strs] of draw(fc.array(hostileString, { minLength: 1, maxLength: 4 }), 4, salt + 2).entries()) {
    // every string field hostile at once (same types: they get past the schema when it allows any text)
    const o = Object.fromEntries(keys.map((k, j) => [k, typeof base[k] === 'string' ? strs[(i + j) % strs.length] : base[k]]));
    out.push({ label: 'hostile strings', body: JSON.stringify(o) });
  }
  for (const n of WILD_NUMBERS.slice(0, 6)) {
    const o = Object.fromEntries(keys.map((k) => [k, typeof base[k] === 'number' ? n : base[k]]));
    if (keys.some((k) => typeof base[k] === 'number')) out.push({ label: 'numbers out of range', body: JSON.stringify(o).replace(/99999999999999999999/, '1e400') });
  }
  for (const u of UNICODE) {
    // every string field set to one of the texts that break storage or display (NUL, lone surrogates, RTL…)
    if (keys.some((k) => typeof base[k] === 'string')) out.push({ label: 'unicode strings', body: JSON.stringify(Object.fromEntries(keys.map((k) => [k, typeof base[k] === 'string' && !(k in KNOWN_VALUES) ? u : base[k]]))) });
  }
  out.push({ label: 'prototype keys', body: `{${[...keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(base[k])}`), ...PROTO_KEYS.map((k) => `${JSON.stringify(k)}:{"admin":true}`)].join(',')}}` });
  out.push({ label: 'extra keys', body: JSON.stringify({ ...base, role: 'admin', userId: staff.admin.userId, isAdmin: true }) });
  out.push({ label: 'huge (70 KB)', body: JSON.stringify({ ...base, [keys[0] ?? 'x']: 'a'.repeat(70 * 1024) }) });
  out.push({ label: 'huge (3 MB)', body: JSON.stringify({ ...base, [keys[0] ?? 'x']: 'é'.repeat(1_500_000) }) });
  out.push({ label: 'text/plain', body: JSON.stringify(base), contentType: 'text/plain' });
  out.push({ label: 'no content type', body: JSON.stringify(base), contentType: '' });
  out.push({ label: 'multipart', body: '--x\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n', contentType: 'multipart/form-data; boundary=x' });
  out.push({ label: 'charset utf-16', body: JSON.stringify(base), contentType: 'application/json; charset=utf-16' });
  return out;
}

/** Ids of real rows (a victim performer's broadcast, case, sample), so some inputs reach the handlers' writes. */
const realIds: string[] = [];

/** A real row's id for a route's path parameter (the victim's case, broadcast, sample or user), else a stranger's. */
function realIdFor(path: string, param: string): string {
  const [broadcast, caseId, user, sample] = realIds;
  if (param === ':userId' || path.startsWith('/users/')) return user ?? SOME_ID;
  if (path.startsWith('/cases/')) return caseId ?? SOME_ID;
  if (path.startsWith('/broadcasts/')) return broadcast ?? SOME_ID;
  if (path.startsWith('/samples/')) return sample ?? SOME_ID;
  return SOME_ID;
}

/** Path parameter values: a stranger's id, a real one, traversal, SQL, Unicode, over-long, encoded junk. */
const pathParam = fc.oneof(
  fc.constant(SOME_ID), fc.constantFrom(...[0, 1, 2, 3].map((i) => () => realIds[i] ?? SOME_ID)).map((f) => f()), fc.constantFrom(...TRAVERSAL, ...SQLI, ...UNICODE.filter((u) => !u.includes('\uD800') && !u.includes('\uDFFF')), 'a'.repeat(10_000), '%', '%zz', '%u0000', '..', '.'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);
/** The string with lone surrogates replaced by U+FFFD. */
const wellFormed = (v: string) => v.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
/** Percent-encodes a string; a lone surrogate becomes the bytes of one encoded in UTF-8 (ED A0 80: invalid UTF-8). */
const pct = (v: string) => v.split(/([\uD800-\uDFFF])/).map((part) => (/^[\uD800-\uDFFF]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part))).join('');
/** A path parameter as sent: already-encoded junk and dots as they are, anything else percent-encoded. */
const encodeParam = (v: string) => (/^[%.]|%[0-9a-fA-F]{2}/.test(v) ? v : pct(v));

/** Query strings: the route's own keys (and some others) with hostile values, repeated keys, bracket keys. */
function queriesFor(spec: RouteSpec, salt: number): string[] {
  const keys = Object.keys((spec.query as Schema | undefined)?.shape ?? {}).concat(['page', 'perPage', '__proto__[admin]', 'constructor[prototype][x]']);
  return draw(fc.array(fc.tuple(fc.constantFrom(...keys), hostileValue), { minLength: 1, maxLength: 4 }), 8, salt).map((pairs) =>
    pairs.map(([k, v]) => `${pct(k)}=${pct(typeof v === 'string' ? v : JSON.stringify(v) ?? '')}`).join('&'));
}

describe('fuzz: every public input', () => {
  it('API: bodies, queries and path parameters on every declared route', async () => {
    expect(specs.length).toBeGreaterThan(60);
    let salt = 1000;
    for (const spec of specs) {
      const kind = `api ${spec.method.toUpperCase()} ${spec.path}`;
      const params = (spec.path.match(/:[a-zA-Z]+/g) ?? []);
      let token = tokenFor(spec);
      if (spec.path === '/auth/logout') token = (await seedSession(env.ctx.db, `fz-logout-${salt}`)).token;
      const headers = (ct?: string) => ({ ...(token ? { authorization: `Bearer ${token}` } : {}), ...(ct ? { 'content-type': ct } : {}) });
      const at = (vals: string[]) => `/api${params.reduce((p, name, i) => p.replace(name, encodeParam(vals[i] ?? SOME_ID)), spec.path)}`;
      const real = params.map((name) => realIdFor(spec.path, name));
      // path parameters
      for (const vals of draw(fc.array(pathParam, { minLength: params.length, maxLength: params.length }), params.length ? 8 : 0, salt++)) {
        const url = at(vals);
        const body = spec.method === 'get' ? undefined : JSON.stringify(plausible(spec.body as Schema) ?? {});
        const run = () => request(spec.method.toUpperCase(), url, { headers: headers(body ? 'application/json' : undefined), body });
        if (spec.method === 'get') judge(kind, `path ${show(url)}`, await run());
        else await guarded(kind, `path ${show(url)}`, run);
      }
      // queries
      for (const q of queriesFor(spec, salt++)) {
        const url = `${at([])}?${q}`;
        if (spec.method === 'get') judge(kind, `query ${show(q)}`, await request('GET', url, { headers: headers() }));
        else await guarded(kind, `query ${show(q)}`, () => request(spec.method.toUpperCase(), url, { headers: headers('application/json'), body: '{}' }));
      }
      // bodies (the upload route has its own batch)
      if (spec.method === 'get' || spec.path === '/verification') continue;
      for (const [i, b] of bodiesFor(spec, salt++).entries()) {
        const ct = b.contentType === undefined ? 'application/json' : b.contentType;
        const url = at(i % 2 ? real : []); // every other body goes to a real row
        await guarded(kind, `${b.label} body ${show(b.body)} to ${url}`, () => request(spec.method.toUpperCase(), url, { headers: headers(ct || undefined), body: b.body }));
      }
    }
    // the publish-gate hook for a media server in front (not a declared route: form or JSON, by secret)
    const hookBodies: [string, string][] = [
      ...draw(fc.tuple(fc.constantFrom('publish', 'play', 'publish_done', '', '__proto__'), hostileString, hostileString), 24, salt++)
        .map(([call, app, name]): [string, string] => ['application/x-www-form-urlencoded', `call=${pct(call)}&app=${pct(app)}&name=${pct(name)}&addr=${pct(name)}`]),
      ...draw(fc.record({ action: hostileValue, path: hostileValue, user: hostileValue, password: hostileValue, ip: hostileValue }), 24, salt++)
        .map((o): [string, string] => ['application/json', JSON.stringify(o)]),
      ...RAW_BODIES.map((r): [string, string] => ['application/json', r]),
      ['application/x-www-form-urlencoded', `call=publish&app=live&name=${'a'.repeat(70_000)}`],
    ];
    for (const [ct, body] of hookBodies) {
      for (const secret of [WEBHOOK_SECRET, 'wrong']) {
        await guarded('api hook on-publish', `${secret === 'wrong' ? 'wrong secret, ' : ''}${ct} ${show(body)}`, () => request('POST', `/api/ingest/on-publish?secret=${secret}`, { headers: { 'content-type': ct }, body }));
      }
    }
    // a body streamed without a length (chunked), past the 64 KiB limit, on a connection of its own
    await guarded('api chunked body', 'POST /api/reports 160 KB chunked', () => chunkedPost('/api/reports', staff.viewer.token, 40, 4096));
    await survives('the API batch');
    expect(tally.problems.filter((p) => p.startsWith('api'))).toEqual([]);
  }, 600_000);
});

// ---- uploads ----

/** A real photo with a face (face-api's sample, shipped in its npm package). */
const FACE = readFileSync(new URL('../../node_modules/@vladmandic/face-api/demo/sample1.jpg', import.meta.url));

/** A PNG chunk: length, type, data, CRC-32. */
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function crc32(b: Buffer): number {
  let c = ~0;
  for (const x of b) { c ^= x; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c >>> 0;
}
/**
 * A 1-bit greyscale PNG of `w`×`h` whose first `rows` rows are present (all rows: a real, complete image; fewer:
 * a bomb that claims more than it carries). Zeros deflate ~1000:1, so 20,000×20,000 is about 50 KB.
 */
function bitPng(w: number, h: number, rows = h): Buffer {
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 1; ihdr[9] = 0;
  const row = Math.ceil(w / 8) + 1;
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(row * rows), { level: 9 })), pngChunk('IEND', Buffer.alloc(0))]);
}
/** The face photo with its frame header claiming `w`×`h` (the data is still the small photo's). */
function jpegClaiming(w: number, h: number): Buffer {
  const b = Buffer.from(FACE);
  for (let i = 2; i < b.length - 9; i++) {
    if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) { b.writeUInt16BE(h, i + 5); b.writeUInt16BE(w, i + 7); return b; }
  }
  throw new Error('no SOF marker in the sample');
}

describe('fuzz: the verification upload', () => {
  it('refuses non-images, truncated files, bombs, 20,000×20,000 images, polyglots and empty files', async () => {
    const uploader = await seedSession(env.ctx.db, 'fz-uploader', 'performer');
    const tinyPng = bitPng(8, 8);
    const files: { label: string; bytes: Buffer; type?: string }[] = [
      { label: 'zero bytes', bytes: Buffer.alloc(0) },
      { label: 'text', bytes: Buffer.from('just some text, not an image') },
      { label: 'html', bytes: Buffer.from('<html><script>alert(1)</script></html>'), type: 'image/jpeg' },
      { label: 'svg billion laughs', bytes: Buffer.from(`<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`).join('')}]><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&j;</text></svg>`), type: 'image/svg+xml' },
      { label: 'pdf', bytes: Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF') },
      { label: 'gif', bytes: Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'), type: 'image/gif' },
      { label: 'elf', bytes: Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(200, 1)]) },
      { label: 'jpeg magic only', bytes: Buffer.from('ffd8ffe000104a464946', 'hex') },
      { label: 'png signature only', bytes: Buffer.from('89504e470d0a1a0a', 'hex') },
      ...draw(fc.integer({ min: 1, max: FACE.length - 1 }), 6, 31).map((n) => ({ label: `truncated jpeg at ${n}`, bytes: FACE.subarray(0, n) })),
      ...draw(fc.integer({ min: 9, max: tinyPng.length - 1 }), 3, 32).map((n) => ({ label: `truncated png at ${n}`, bytes: tinyPng.subarray(0, n) })),
      { label: 'flipped bytes jpeg', bytes: Buffer.from(FACE.map((x, i) => (i > 600 && i % 97 === 0 ? x ^ 0xff : x))) },
      { label: '20000x20000 png (complete)', bytes: bitPng(20_000, 20_000) },
      { label: 'bomb png 100000x100000', bytes: bitPng(100_000, 100_000, 2000) },
      { label: 'bomb png 65535x65535 one row', bytes: bitPng(65_535, 65_535, 1) },
      { label: 'jpeg claiming 20000x20000', bytes: jpegClaiming(20_000, 20_000) },
      { label: 'jpeg claiming 65535x65535', bytes: jpegClaiming(65_535, 65_535) },
      { label: 'jpeg claiming 0x0', bytes: jpegClaiming(0, 0) },
      { label: 'polyglot jpeg+html', bytes: Buffer.concat([FACE, Buffer.from('<script>alert(document.cookie)</script>')]) },
      { label: 'polyglot png+zip', bytes: Buffer.concat([tinyPng, Buffer.from('504b0304140000000000', 'hex'), Buffer.alloc(100)]) },
      { label: 'html then jpeg', bytes: Buffer.concat([Buffer.from('<!doctype html><p>'), FACE]) },
      { label: 'random bytes', bytes: Buffer.from(draw(fc.uint8Array({ minLength: 1, maxLength: 5000 }), 1, 33)[0]!) },
      { label: '9 MiB (over the limit)', bytes: Buffer.concat([FACE, Buffer.alloc(9 * 1024 * 1024)]) },
      { label: 'a 1x1 png (no face)', bytes: bitPng(1, 1) },
    ];
    const auth = { authorization: `Bearer ${uploader.token}` };
    const post = (form: FormData | string, ct?: string) => request('POST', '/api/verification', { headers: ct ? { ...auth, 'content-type': ct } : auth, body: form, timeoutMs: 60_000 });
    for (const f of files) {
      for (const which of ['document', 'selfie'] as const) {
        const form = new FormData();
        form.set('dateOfBirth', '1990-01-01');
        form.set('document', new Blob([new Uint8Array(which === 'document' ? f.bytes : FACE)], { type: f.type ?? 'image/jpeg' }), 'document.jpg');
        form.set('selfie', new Blob([new Uint8Array(which === 'selfie' ? f.bytes : FACE)], { type: f.type ?? 'image/jpeg' }), 'selfie.jpg');
        if (f.label === 'a 1x1 png (no face)' && which === 'selfie') continue;
        if (await guarded('upload images', `${which}: ${f.label}`, () => post(form)) === 'accepted') console.log(`upload accepted: ${which}: ${f.label}`);
      }
    }
    // the form itself: fields missing, repeated, wrong; hostile dates; broken multipart; oversized
    const forms: { label: string; build: () => [FormData | string, string?] }[] = [
      { label: 'no fields', build: () => [new FormData()] },
      { label: 'date only', build: () => { const f = new FormData(); f.set('dateOfBirth', '1990-01-01'); return [f]; } },
      { label: 'files as text fields', build: () => { const f = new FormData(); f.set('dateOfBirth', '1990-01-01'); f.set('document', 'x'); f.set('selfie', 'y'); return [f]; } },
      { label: 'document twice', build: () => { const f = new FormData(); f.set('dateOfBirth', '1990-01-01'); f.append('document', new Blob([new Uint8Array(FACE)])); f.append('document', new Blob([new Uint8Array(FACE)])); f.set('selfie', new Blob([new Uint8Array(FACE)])); return [f]; } },
      { label: 'extra field', build: () => { const f = new FormData(); f.set('dateOfBirth', '1990-01-01'); f.set('document', new Blob([new Uint8Array(FACE)])); f.set('selfie', new Blob([new Uint8Array(FACE)])); f.set('__proto__', 'x'); return [f]; } },
      { label: 'underage', build: () => { const f = new FormData(); f.set('dateOfBirth', new Date(Date.now() - 10 * 365 * 86_400_000).toISOString().slice(0, 10)); f.set('document', new Blob([new Uint8Array(FACE)])); f.set('selfie', new Blob([new Uint8Array(FACE)])); return [f]; } },
      { label: 'born in the future', build: () => { const f = new FormData(); f.set('dateOfBirth', '2999-01-01'); f.set('document', new Blob([new Uint8Array(FACE)])); f.set('selfie', new Blob([new Uint8Array(FACE)])); return [f]; } },
      ...draw(hostileString, 12, 34).map((d) => ({ label: `dateOfBirth ${show(d, 40)}`, build: (): [FormData] => { const f = new FormData(); f.set('dateOfBirth', d); f.set('document', new Blob([new Uint8Array(FACE)])); f.set('selfie', new Blob([new Uint8Array(FACE)])); return [f]; } })),
      { label: 'no boundary', build: () => ['--x\r\n\r\n', 'multipart/form-data'] },
      { label: 'wrong boundary', build: () => [`--y\r\ncontent-disposition: form-data; name="dateOfBirth"\r\n\r\n1990-01-01\r\n--y--\r\n`, 'multipart/form-data; boundary=x'] },
      { label: 'truncated multipart', build: () => [`--x\r\ncontent-disposition: form-data; name="document"; filename="a.jpg"\r\ncontent-type: image/jpeg\r\n\r\n${FACE.subarray(0, 500).toString('latin1')}`, 'multipart/form-data; boundary=x'] },
      { label: 'header injection in name', build: () => [`--x\r\ncontent-disposition: form-data; name="a\r\nx: y"; filename="../../etc/passwd"\r\n\r\nz\r\n--x--\r\n`, 'multipart/form-data; boundary=x'] },
      { label: 'json instead', build: () => ['{"dateOfBirth":"1990-01-01"}', 'application/json'] },
      { label: '20 MB body', build: () => [`--x\r\ncontent-disposition: form-data; name="document"; filename="a.jpg"\r\n\r\n${'a'.repeat(20 * 1024 * 1024)}\r\n--x--\r\n`, 'multipart/form-data; boundary=x'] },
    ];
    for (const f of forms) {
      const [body, ct] = f.build();
      await guarded('upload forms', f.label, () => post(body, ct));
    }
    await survives('the upload batch');
    expect(tally.problems.filter((p) => p.startsWith('upload'))).toEqual([]);
  }, 300_000);
});

// ---- chat ----

interface ChatConn { ws: WebSocket; replies: { type: string; code?: string }[]; closed: Promise<{ code: number; reason: string }>; isClosed: () => boolean }

/** Opens a chat socket; resolves once the server said hello, or with the refusal of the upgrade. */
function openChat(path: string, token?: string): Promise<{ conn: ChatConn } | { status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${node.httpUrl.replace('http', 'ws')}${path}${token === undefined ? '' : `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`}`, { maxPayload: 4 << 20 });
    const replies: ChatConn['replies'] = [];
    let closedFlag = false;
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => { closedFlag = true; r({ code, reason: reason.toString() }); }));
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; code?: string };
      if (m.type === 'hello') resolve({ conn: { ws, replies, closed, isClosed: () => closedFlag } });
      else replies.push(m);
    });
    setTimeout(() => resolve({ status: 0, body: 'no answer to the upgrade' }), REQUEST_TIMEOUT_MS).unref();
  });
}

/** Replies that answer a frame (fan-out of others' messages, support notes and restriction notices do not). */
const ANSWERS = new Set(['ack', 'held', 'blocked', 'refused', 'panic_received']);
const answered = (c: ChatConn) => c.replies.filter((r) => ANSWERS.has(r.type)).length;

/** A chat frame: what is sent, whether it is binary, and whether the server should close the socket for it. */
interface Frame { label: string; data: string | Buffer; binary: boolean; closes?: number }

const chatFrame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 5, arbitrary: hostileString.filter((t) => Buffer.byteLength(JSON.stringify({ type: 'message', text: t })) < 16 * 1024).map((t) => ({ label: 'text', data: JSON.stringify({ type: 'message', text: t }), binary: false })) },
  { weight: 2, arbitrary: hostileValue.map((v) => ({ label: 'wrong type', data: JSON.stringify({ type: 'message', text: v }) ?? 'null', binary: false })).filter((f) => Buffer.byteLength(f.data) < 16 * 1024) },
  { weight: 2, arbitrary: hostileString.filter((t) => Buffer.byteLength(t) < 16 * 1024).map((t) => ({ label: 'not JSON', data: t, binary: false })) },
  { weight: 1, arbitrary: fc.constantFrom('{"type":"panic"}', '{"type":"panic","protection":"end_broadcast","message":"x"}', '{"type":"message","text":"hi","__proto__":{"type":"panic"}}', '{"type":"__proto__"}', '[{"type":"message","text":"x"}]', '{"type":"message","text":"' + 'a'.repeat(600) + '"}', '{"type":"message","text":"   \\u200b\\u200b  "}').map((d) => ({ label: 'odd message', data: d, binary: false })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 2000 }).map((b) => ({ label: 'binary', data: Buffer.from(b), binary: true })) },
);
/** Frames the server must close the connection for: invalid UTF-8 in a text frame (1007), over 16 KiB (1009). */
const closingFrames: Frame[] = [
  { label: 'invalid UTF-8 text frame', data: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc0, 0x80, 0x22, 0x7d]), binary: false, closes: 1007 },
  { label: 'surrogate bytes in a text frame', data: Buffer.from('{"type":"message","text":"\xed\xa0\x80"}', 'latin1'), binary: false, closes: 1007 },
  { label: '1 MiB message', data: JSON.stringify({ type: 'message', text: 'a'.repeat(1 << 20) }), binary: false, closes: 1009 },
  { label: '64 KiB binary', data: Buffer.alloc(64 * 1024, 0xff), binary: true, closes: 1009 },
];

describe('fuzz: chat frames over the WebSocket', () => {
  it('refuses bad upgrades, answers or closes on every frame, survives floods, and stores only what it accepted', async () => {
    const room = await seedBroadcast(env.ctx.db, env.config.dataDir, 'fz-room-owner');
    const users = await Promise.all(Array.from({ length: 24 }, (_, i) => seedSession(env.ctx.db, `fz-chatter-${i}`)));
    const minor = await seedSession(env.ctx.db, 'fz-not-attested', 'viewer', { adult: false });
    // upgrades that must be refused with an HTTP status and a JSON error
    const upgrades: [string, string | undefined][] = [
      [`/chat/${room.broadcastId}`, undefined], [`/chat/${room.broadcastId}`, 'not-a-session'], [`/chat/${room.broadcastId}`, minor.token],
      [`/chat/${SOME_ID}`, users[0]!.token], ...draw(pathParam, 16, 41).map((p): [string, string | undefined] => [`/chat/${encodeParam(p)}`, users[0]!.token]),
      ...draw(hostileString, 8, 42).map((t): [string, string | undefined] => [`/chat/${room.broadcastId}`, wellFormed(t)]),
    ];
    for (const [p, t] of upgrades) {
      const r = await openChat(p, t);
      if ('conn' in r) {
        // only a real broadcast's room with a real session may be joined
        if (!(p === `/chat/${realIds[0]}` && users.some((u) => u.token === t))) tally.problem(`chat upgrade: accepted ${show(p)} token ${show(t)}`);
        r.conn.ws.close();
        tally.count('chat upgrades', 'accepted');
        continue;
      }
      if (r.status === 0) { tally.hangs++; tally.problem(`chat upgrade: no answer for ${show(p)} token ${show(t)}`); }
      else if (r.status >= 500) { tally.fiveXx++; tally.problem(`chat upgrade: ${r.status} for ${show(p)}`); }
      // a path that normalises to something outside /chat/ (`/chat/../..`) is not a chat upgrade: the server's bare 404
      else if (!(r.status === 404 && !new URL(p, 'http://x').pathname.startsWith('/chat/')) && r.status !== 431
        && !isErrorBody((() => { try { return JSON.parse(r.body); } catch { return null; } })())) tally.problem(`chat upgrade: ${r.status} ${show(r.body)} for ${show(p)}`);
      tally.count('chat upgrades', 'refused');
    }

    const stored = async () => Number((await env.ctx.database.sql`select count(*)::int as n from chat_messages`)[0]!.n);
    const storedBefore = await stored();
    let storing = 0; // ack + held + blocked answers: each is one stored message
    const tallyReplies = (c: ChatConn, from: number) => {
      for (const r of c.replies.filter((x) => ANSWERS.has(x.type)).slice(from)) {
        if (r.type === 'ack' || r.type === 'held' || r.type === 'blocked') { storing++; tally.count('chat frames', 'accepted'); } else tally.count('chat frames', 'refused');
        if (r.type === 'refused' && r.code === 'unavailable') tally.problem('chat frames: refused as "unavailable" (an internal failure, not the input)');
      }
    };
    /** Sends frames on one socket and waits for one answer per frame. */
    const exchange = async (c: ChatConn, frames: Frame[], label: string) => {
      const from = answered(c);
      for (const f of frames) c.ws.send(f.data, { binary: f.binary });
      const ok = await waitUntil(() => answered(c) - from >= frames.length || c.isClosed(), 20_000);
      if (!ok || c.isClosed()) { tally.hangs += ok ? 0 : 1; tally.problem(`chat frames (${label}): ${answered(c) - from} answers to ${frames.length} frames${c.isClosed() ? ' (socket closed)' : ''}`); }
      tallyReplies(c, from);
    };
    // each user: a batch of drawn frames, then one frame the server must close on
    for (const [i, u] of users.entries()) {
      const r = await openChat(`/chat/${room.broadcastId}`, u.token);
      if (!('conn' in r)) throw new Error(`chat: could not join: ${r.status} ${r.body}`);
      await exchange(r.conn, draw(chatFrame, 14, 100 + i), `user ${i}`);
      const closing = closingFrames[i % closingFrames.length]!;
      r.conn.ws.send(closing.data, { binary: closing.binary });
      const closed = await Promise.race([r.conn.closed, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
      if (closed?.code !== closing.closes) tally.problem(`chat frames: ${closing.label} → ${closed ? `close ${closed.code}` : 'not closed in 5 s'} (expected ${closing.closes})`);
      tally.count('chat closing frames', 'refused');
      r.conn.ws.terminate();
    }
    // a flood from one socket, then from many at once
    const flood = await openChat(`/chat/${room.broadcastId}`, users[0]!.token);
    if (!('conn' in flood)) throw new Error('chat: flood socket refused');
    await exchange(flood.conn, Array.from({ length: 2000 }, (_, i) => ({ label: 'flood', data: JSON.stringify({ type: 'message', text: `flood ${i}` }), binary: false })), 'one-socket flood');
    flood.conn.ws.close();
    const many = await Promise.all(users.map((u) => openChat(`/chat/${room.broadcastId}`, u.token)));
    await Promise.all(many.map((m, i) => ('conn' in m ? exchange(m.conn, draw(chatFrame, 60, 300 + i), `many-socket flood ${i}`) : Promise.resolve())));
    for (const m of many) if ('conn' in m) m.conn.ws.close();

    await new Promise((r) => setTimeout(r, 300));
    const added = (await stored()) - storedBefore;
    console.log(`chat: ${storing} messages answered as stored (ack/held/blocked), ${added} rows added to chat_messages`);
    expect(added, 'one chat_messages row per stored answer, none for refusals').toBe(storing);
    await survives('the chat batch');
    expect(tally.problems.filter((p) => p.startsWith('chat'))).toEqual([]);
  }, 300_000);
});

/** Polls `cond` every 20 ms until true or `ms` passed. @returns whether it became true. */
async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

// ---- RTMP ----

describe('fuzz: RTMP garbage and absurd stream keys', () => {
  it('drops every bad connection, refuses every absurd publish and play, and writes only refusals', async () => {
    const before = await tableCounts(env.ctx.database.sql);
    const DROP_MS = 15_000; // the ingest node drops a connection that has not published or played within 10 s
    const run = async (kind: string, label: string, act: (c: RtmpConn) => Promise<void>) => {
      const c = new RtmpConn(node.rtmpPort);
      try { await c.connected(); await act(c); } catch { /* the server may drop us mid-way */ }
      const o = await c.outcome(DROP_MS);
      if (o.closedBy !== 'server') { tally.hangs++; tally.problem(`${kind}: still connected after ${DROP_MS} ms: ${label}`); }
      tally.count(kind, 'refused');
    };
    const rand = (n: number, salt: number) => draw(fc.uint8Array({ minLength: 1, maxLength: 6000 }), n, salt).map((b) => Buffer.from(b));
    const junkCommands: [string, Buffer[]][] = [
      ['connect without tcUrl', [command(['connect', 1, { app: 'live' }])]],
      ['connect with a number as tcUrl', [command(['connect', 1, { app: 'live', tcUrl: 42 }])]],
      ['connect with junk tcUrl', [command(['connect', 1, { app: 'live', tcUrl: '::not a url::' }])]],
      ['connect without an object', [command(['connect', 1])]],
      ['connect with app a number', [command(['connect', 1, { app: 7 as unknown as string, tcUrl: 'rtmp://x/live' }])]],
      ['publish before connect', [command(['publish', 3, null, 'wk_abc', 'live'], 1)]],
      ['publish without a name', [command(['connect', 1, { app: 'live', tcUrl: 'rtmp://x/live' }]), command(['publish', 3, null], 1)]],
      ['publish with a number as name', [command(['connect', 1, { app: 'live', tcUrl: 'rtmp://x/live' }]), command(['publish', 3, null, 12345, 'live'], 1)]],
      ['play without a name', [command(['connect', 1, { app: 'watch', tcUrl: 'rtmp://x/watch' }]), command(['play', 3, null], 1)]],
      ['set chunk size 0', [chunked(1, Buffer.from([0, 0, 0, 0]), 0, 2), command(['connect', 1, { app: 'live', tcUrl: 'rtmp://x/live' }])]],
      ['set chunk size, 1-byte payload', [chunked(1, Buffer.from([1]), 0, 2)]],
      ['window ack size, empty payload', [chunked(5, Buffer.alloc(0), 0, 2)]],
      ['a 16 MB message announced, 10 bytes sent', [Buffer.concat([Buffer.from([0x03, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0]), Buffer.alloc(10)])]],
      ['an unknown command', [command(['FCPublish', 2, null, 'x'.repeat(70_000)])]],
      ['AMF junk', [chunked(20, Buffer.from([0x02, 0xff, 0xff, 0x0c, 0xff, 0xff, 0xff, 0xff]))]],
      ['video before publish', [chunked(9, Buffer.from([0x17, 0, 0, 0, 0]), 1, 6)]],
      ['extended chunk stream ids', [Buffer.from([0x00, 0xff, 0, 0, 0, 0, 0, 0, 5, 20, 0, 0, 0, 0]), Buffer.from([0x01, 0xff, 0xff])]],
    ];
    const keys = [
      '', 'a'.repeat(10 * 1024), '../../../etc/passwd', '..', 'wk_../../x', 'wk_😀😀', 'مفتاح', 'wk_\u0000', "wk_' OR '1'='1", 'wk_abc?sign=1-2', 'wk_abc/def',
      'wk_' + 'A'.repeat(43), 'wk_notarealkey-but_well-formed_123', '%2e%2e%2f', 'x y', 'wk_\r\nInjected: 1',
    ];
    const tasks: Promise<void>[] = [];
    for (const [i, b] of rand(20, 51).entries()) tasks.push(run('rtmp random bytes', `${b.length} random bytes #${i}`, async (c) => c.send(b)));
    for (const [i, b] of rand(20, 52).entries()) tasks.push(run('rtmp garbage after handshake', `${b.length} bytes #${i}`, async (c) => { if (await c.handshake()) c.send(b); }));
    for (const [label, msgs] of junkCommands) tasks.push(run('rtmp malformed commands', label, async (c) => { if (await c.handshake()) for (const m of msgs) c.send(m); }));
    for (const app of ['live', '', '../live', 'live/..', 'watch', 'admin', '😀']) {
      for (const key of keys) tasks.push(run('rtmp absurd publishes', `publish /${app}/${show(key, 30)}`, async (c) => { if (await c.handshake()) await c.open(app, 'publish', key); }));
    }
    for (const name of [...keys.slice(0, 8), SOME_ID, `${SOME_ID}?token=junk`, `${realIds[0]}?token=' OR 1=1`]) {
      for (const app of ['live', 'watch']) tasks.push(run('rtmp absurd plays', `play /${app}/${show(name, 30)}`, async (c) => { if (await c.handshake()) await c.open(app, 'play', name); }));
    }
    await Promise.all(tasks);
    await new Promise((r) => setTimeout(r, 1000)); // refusals are recorded just after the drop
    const diff = diffCounts(before, await tableCounts(env.ctx.database.sql));
    const { actions: audited = 0, ...rest } = diff;
    expect(rest, 'no rows but audit entries after RTMP garbage').toEqual({});
    if (audited) {
      const rows = await env.ctx.database.sql<{ action: string; reason: string }[]>`select action, details->>'reason' as reason from actions order by id desc limit ${audited}`;
      const by = new Map<string, number>();
      for (const r of rows) by.set(`${r.action}/${r.reason}`, (by.get(`${r.action}/${r.reason}`) ?? 0) + 1);
      console.log(`rtmp: ${audited} audit entries: ${JSON.stringify([...by])}`);
      expect(rows.filter((r) => !BACKGROUND_ACTIONS.has(r.action)).every((r) => r.action === 'refuse_publish')).toBe(true);
    }
    await survives('the RTMP batch');
    expect(tally.problems.filter((p) => p.startsWith('rtmp'))).toEqual([]);
  }, 180_000);
});

// ---- static, console and HTTP-FLV paths ----

/** One raw HTTP/1.1 request (exact request target, no client-side normalisation). */
function rawHttp(method: string, target: string): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const url = new URL(node.httpUrl);
    const s = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {});
    const timer = setTimeout(() => { s.destroy(); resolve({ status: 0, body: null, text: '', ms: Date.now() - t0 }); }, REQUEST_TIMEOUT_MS);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? -1);
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      let bodyText = text.slice(head.length + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(head)) {
        let out = '';
        for (let i = 0; ;) {
          const eol = bodyText.indexOf('\r\n', i);
          const n = parseInt(bodyText.slice(i, eol), 16);
          if (!(n > 0)) break;
          out += bodyText.slice(eol + 2, eol + 2 + n);
          i = eol + 2 + n + 2;
        }
        bodyText = out;
      }
      let body: unknown; try { body = JSON.parse(bodyText); } catch { body = undefined; }
      resolve({ status, body, text, ms: Date.now() - t0 });
    });
    s.write(`${method} ${target} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: close\r\n\r\n`);
  });
}

describe('fuzz: static, console and HTTP-FLV paths', () => {
  it('never serves a file outside the apps, never 5xx, whatever the path', async () => {
    const prefixes = ['/flv/', '/flv/watch/', '/console/', '/console/assets/', '/studio/', '/watch/', '/api/', '/', '/api/samples/', '/chat/'];
    const tails = [
      ...TRAVERSAL, '..%2f..%2f..%2fpackage.json', '%2e%2e%2f%2e%2e%2fpackage.json', '..%252f..%252fpackage.json', '..%5c..%5cpackage.json',
      '%ff%fe', '%', '%zz', '%u002e%u002e/', '%c0%ae%c0%ae/', 'a'.repeat(8000), '?token=%27%20OR%201%3D1--', 'index.html%00.jpg', '.%00./', '//etc/passwd',
      `${SOME_ID}.flv?token=../../x`, `${realIds[0]}.flv?token=${'a'.repeat(3000)}`, 'watch/../../live/wk_x.flv', '🙂/../../package.json',
      ...draw(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), 10, 61).map(pct),
    ];
    const LEAKS = [/"name":\s*"warden"/, /root:x:0:0/, /\[core\]/, /DATABASE_URL/, /"devDependencies"/, /BEGIN (RSA|OPENSSH|PRIVATE)/];
    for (const prefix of prefixes) {
      for (const tail of tails) {
        for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS', 'PROPFIND']) {
          if (method !== 'GET' && tails.indexOf(tail) % 4 !== 0) continue; // other methods on a quarter of the paths
          const target = `${prefix}${tail}`;
          const a = await rawHttp(method, target);
          // the API's and the FLV handler's refusals are JSON; the web apps answer their own pages (SPA fallback)
          // (HEAD answers carry no body; Node's own parser answers 400/431 to a request it cannot read)
          judge(`paths ${prefix}`, `${method} ${show(target)}`, a, { anyBody: !(prefix.startsWith('/api/') || prefix.startsWith('/flv/')) || method === 'HEAD' || a.status === 400 || a.status === 431 });
          const leak = LEAKS.find((re) => re.test(a.text));
          if (leak) tally.problem(`paths ${prefix}: ${method} ${show(target)} answered ${a.status} with ${leak} in the body`);
        }
      }
    }
    await survives('the paths batch');
    expect(tally.problems.filter((p) => p.startsWith('paths'))).toEqual([]);
  }, 300_000);
});
