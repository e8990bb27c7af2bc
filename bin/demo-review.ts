/**
 * The demo's review segment: a moderator account signs in over HTTP like the console does (cookie + CSRF
 * token), reads the queue, takes the most urgent case and bans the performer while they are live; the demo
 * measures how long the decision takes to cut the stream, then checks the audit chain.
 */
import type { EventEmitter } from 'node:events';
import type { Db } from '../db/index.ts';
import { clearTotp, setPasswordHash, verifyAuditChain } from '../db/index.ts';
import { hashPassword } from '../core/passwords.ts';
import { otpauthUrl, totpCode } from '../core/totp.ts';
import type { PublishEvent } from '../ingest/index.ts';
import { seedAccount } from './seed.ts';

/**
 * The demo's console accounts (printed so a person can sign in to /console after the demo). Staff sign in with a
 * second factor, so each has a TOTP secret; these are fixed and public (a demo on one machine), so a person can
 * add them to an authenticator app from the otpauth URLs the demo prints. Never reuse them.
 */
export const DEMO_ACCOUNTS = [
  { email: 'moderator@demo.warden.local', role: 'moderator' as const, handle: 'demo-moderator', totpSecret: 'GLXMMD6K4STD67C4IJYWLYBYNEA4UPG3' },
  { email: 'senior@demo.warden.local', role: 'senior_moderator' as const, handle: 'demo-senior', totpSecret: 'NGYLHDYVPNWCCXMFO53D33M4T6KADRPS' },
  { email: 'admin@demo.warden.local', role: 'admin' as const, handle: 'demo-admin', totpSecret: 'GM5FJTAB4OLPAISEBJH3N2H4BOSJNPBI' },
];

/** A demo account's otpauth URL (to add it to an authenticator app). */
export const demoOtpauthUrl = (a: (typeof DEMO_ACCOUNTS)[number]) => otpauthUrl(a.totpSecret, a.email);

/**
 * Creates the demo accounts (or resets their password) with this run's password, which the demo prints, and
 * gives each its known TOTP secret, sealed under the demo's data key (replacing whatever an earlier run left).
 */
export async function seedDemoAccounts(db: Db, password: string, dataKey: string | null): Promise<void> {
  const hash = await hashPassword(password);
  for (const { totpSecret, ...a } of DEMO_ACCOUNTS) {
    const { userId } = await seedAccount(db, { ...a, password });
    await setPasswordHash(db, a.email, hash);
    await clearTotp(db, userId); // an earlier run's secret may be sealed under another key
    await seedAccount(db, { ...a, password, totp: { secret: totpSecret }, dataKey });
  }
}

/** What the scripted moderator did. */
export interface DemoReview {
  queue: { priority: string; reason: string }[];
  caseId: string | null;
  reason: string | null;
  decision: string | null;
  statementId: string | null;
  /** Milliseconds from sending the decision to the broadcast's end. */
  streamCutMs: number | null;
  auditChain: { ok: boolean; entries: number };
}

/**
 * A cookie session against the API, as a browser has one: `call(method, path, body?)` sends the cookie and, for
 * changes, the CSRF token. A demo account signs in with the code of its known TOTP secret; a code is accepted
 * once, so a second sign-in within the same 30 s step uses the next step's code, and a third waits for it.
 */
export async function signIn(httpUrl: string, email: string, password: string, totpSecret = DEMO_ACCOUNTS.find((a) => a.email === email)?.totpSecret) {
  const attempt = (at: number) => fetch(`${httpUrl}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, ...(totpSecret ? { totpCode: totpCode(totpSecret, at) } : {}) }),
  });
  let res = await attempt(Date.now());
  for (let tries = 0; res.status === 401 && totpSecret && tries < 3; tries++) {
    const body = await res.clone().json().catch(() => null) as { error?: { code?: string } } | null;
    if (body?.error?.code !== 'totp_invalid') break;
    if (tries === 0) res = await attempt(Date.now() + 30_000);
    else { await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 200)); res = await attempt(Date.now() + 30_000); }
  }
  if (!res.ok) throw new Error(`demo moderator could not sign in: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = await res.json() as { csrfToken: string };
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${httpUrl}${path}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': csrfToken, 'content-type': 'application/json' }) },
    });
    const json = await r.json().catch(() => null) as Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any
    return { status: r.status, body: json };
  };
  /** A GET of a non-JSON resource (an image) with the session cookie. */
  const fetchWithCookie = (path: string) => fetch(`${httpUrl}${path}`, { headers: { cookie } });
  return { call, fetch: fetchWithCookie };
}

/**
 * Signs in as the demo moderator, takes the most urgent case and bans the performer of `broadcastId`.
 * @param events ingest publish events (to time the stream's end)
 */
export async function runDemoReview(db: Db, httpUrl: string, password: string, broadcastId: string, events: EventEmitter, out: (l: string) => void): Promise<DemoReview> {
  const mod = await signIn(httpUrl, DEMO_ACCOUNTS[0]!.email, password);
  const queue = await mod.call('GET', `/api/cases?perPage=10`);
  const rows = (queue.body?.data ?? []) as { id: string; priority: string; reason: string; broadcastId: string | null }[];
  out(`  review: ${DEMO_ACCOUNTS[0]!.handle} signs in; the queue holds ${queue.body?.total ?? 0} case(s): ${rows.map((r) => `[${r.priority}] ${r.reason}`).join(', ') || 'none'}`);
  const result: DemoReview = { queue: rows.map((r) => ({ priority: r.priority, reason: r.reason })), caseId: null, reason: null, decision: null, statementId: null, streamCutMs: null, auditChain: { ok: false, entries: 0 } };
  const target = rows.find((r) => r.broadcastId === broadcastId);
  if (target) {
    const claim = await mod.call('POST', `/api/cases/${target.id}/claim`);
    const detail = await mod.call('GET', `/api/cases/${target.id}`);
    const reasonCode = String(detail.body?.suggestedReasonCode ?? 'other');
    const ended = new Promise<number>((resolve) => {
      const on = (e: PublishEvent) => { if (e.type === 'ended' && e.broadcastId === broadcastId) { events.off('publish', on); resolve(Date.now()); } };
      events.on('publish', on);
      setTimeout(() => { events.off('publish', on); resolve(Number.NaN); }, 5000).unref();
    });
    const sent = Date.now();
    const decision = await mod.call('POST', `/api/cases/${target.id}/decision`, { action: 'ban', reasonCode, note: 'demo: banned by the scripted moderator' });
    const cutAt = await ended;
    Object.assign(result, {
      caseId: target.id, reason: target.reason, decision: decision.status === 200 ? 'ban' : `refused (${decision.status})`,
      statementId: decision.body?.statementId ?? null, streamCutMs: Number.isNaN(cutAt) ? null : cutAt - sent,
    });
    out(`  review: claimed [${target.priority}] ${target.reason} (${claim.status}), ${detail.body?.evidence?.length ?? 0} evidence item(s); banned the performer for ${reasonCode}: stream cut ${result.streamCutMs ?? '(not within 5 s)'} ms after the decision; statement of reasons ${result.statementId}`);
  } else {
    out('  review: no case on the demo broadcast to decide');
  }
  const chain = await verifyAuditChain(db);
  result.auditChain = { ok: chain.ok, entries: chain.entries };
  out(`  audit log: ${chain.entries} entries, hash chain ${chain.ok ? `verifies (head ${chain.head?.hash.slice(0, 12)}…)` : `BROKEN at ${JSON.stringify(chain.firstBroken)}`}`);
  return result;
}
