// The audit log's hash chain and its outbound webhooks, on the real Postgres: concurrent appends chain in commit
// order, tampering (an edited, a deleted entry) is found by `warden audit verify`, and a real HTTP receiver gets
// every entry in order with a valid HMAC signature, retried without skipping when it fails.
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAction, verifyAuditChain } from '../db/index.ts';
import { WebhookDispatcher, verifyWebhookSignature, webhookSignature } from '../moderation/index.ts';
import { createLogger } from '../core/logger.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let env: TestEnv;
beforeAll(async () => { env = await createTestEnv(); });
afterAll(async () => env?.cleanup());

const entry = (i: number, key?: string) => ({
  action: 'test', actorType: 'system' as const, actorId: 'audit-test', subjectType: 'thing', subjectId: `t${i}`,
  details: { i, nested: { b: 2, a: [1, 'x', null] }, ratio: 0.1 + 0.2 }, idempotencyKey: key,
});

function verifyCli(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'bin/warden'), ['audit', 'verify'], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, LOG_LEVEL: 'silent', DATABASE_URL: env.config.databaseUrl }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.stderr.on('data', (b) => { stderr += b; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('audit hash chain', () => {
  it('chains concurrent appends from many transactions, once per idempotency key', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => env.ctx.db.transaction(async (tx) => {
      await appendAction(tx, entry(i));
      if (i % 10 === 0) await appendAction(tx, entry(i + 1000));
    })));
    expect(await appendAction(env.ctx.db, entry(7, 'once'))).not.toBeNull();
    expect(await appendAction(env.ctx.db, entry(7, 'once'))).toBeNull();
    const r = await verifyAuditChain(env.ctx.db);
    expect(r).toMatchObject({ ok: true, entries: 56, unchained: 0 });
    expect(r.head!.seq).toBe(56);
    const rows = await env.ctx.database.sql`select chain_seq, prev_hash, hash from actions order by chain_seq`;
    expect(rows[0]!.prev_hash).toBe('0'.repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    const cli = await verifyCli();
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: true, entries: 56 });
  });

  it('finds an edited entry and a deleted entry', async () => {
    const sql = env.ctx.database.sql;
    await sql`alter table actions disable trigger actions_no_update_delete`;
    try {
      const [victim] = await sql`select id, details from actions where chain_seq = 20`;
      await sql`update actions set details = jsonb_set(details, '{i}', '999') where id = ${victim!.id}`;
      const edited = await verifyAuditChain(env.ctx.db);
      expect(edited).toMatchObject({ ok: false, entries: 19, firstBroken: { id: Number(victim!.id), seq: 20, problem: 'hash mismatch' } });
      const cli = await verifyCli();
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(new RegExp(`entry ${victim!.id} \\(position 20\\): hash mismatch`));
      // put it back exactly: the chain verifies again
      await sql`update actions set details = ${JSON.stringify(victim!.details)}::jsonb where id = ${victim!.id}`;
      expect((await verifyAuditChain(env.ctx.db)).ok).toBe(true);
      // remove an entry: the one after it no longer links
      await sql`delete from actions where chain_seq = 30`;
      const gap = await verifyAuditChain(env.ctx.db);
      expect(gap).toMatchObject({ ok: false, entries: 29, firstBroken: { seq: 31, problem: 'gap in sequence' } });
    } finally {
      await sql`alter table actions enable trigger actions_no_update_delete`;
    }
    // and the append-only trigger is back: edits are refused outright
    await expect(env.ctx.database.sql`update actions set action = 'x' where chain_seq = 1`).rejects.toThrow(/append-only/);
  });
});

describe('webhooks', () => {
  it('signs with HMAC-SHA256 over timestamp and body; rejects a wrong secret and a stale timestamp', () => {
    const body = '{"a":1}';
    const ts = Math.floor(Date.now() / 1000);
    const header = `v1=${webhookSignature('s3cret-s3cret-s3cret', ts, body)}`;
    expect(verifyWebhookSignature('s3cret-s3cret-s3cret', ts, body, header)).toBe(true);
    expect(verifyWebhookSignature('another-secret-value', ts, body, header)).toBe(false);
    expect(verifyWebhookSignature('s3cret-s3cret-s3cret', ts, '{"a":2}', header)).toBe(false);
    expect(verifyWebhookSignature('s3cret-s3cret-s3cret', ts - 3600, body, `v1=${webhookSignature('s3cret-s3cret-s3cret', ts - 3600, body)}`)).toBe(false);
  });

  it('delivers every entry in order to a real receiver, retrying a failing one without skipping', async () => {
    const fresh = await createTestEnv();
    const secret = 'webhook-secret-0123456789';
    const got: { seq: number; action: string }[] = [];
    let failuresLeft = 2;
    let badSignatures = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        if (!verifyWebhookSignature(secret, String(req.headers['warden-timestamp']), body, String(req.headers['warden-signature']))) badSignatures++;
        const e = JSON.parse(body) as { seq: number; action: string };
        if (e.seq === 3 && failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(500).end();
          return;
        }
        got.push({ seq: e.seq, action: e.action });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const dispatcher = new WebhookDispatcher({ db: fresh.ctx.db, urls: [url], secret, logger: createLogger('silent'), pollMs: 50, minBackoffMs: 100 });
    try {
      for (let i = 0; i < 5; i++) await appendAction(fresh.ctx.db, entry(i));
      dispatcher.start();
      await waitFor(() => got.length >= 5, 'five deliveries', 10_000);
      await appendAction(fresh.ctx.db, { ...entry(5), action: 'ban' });
      await waitFor(() => got.length >= 6, 'the sixth delivery', 10_000);
      expect(got.map((g) => g.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(got[5]!.action).toBe('ban');
      expect(failuresLeft).toBe(0);
      expect(badSignatures).toBe(0);
      const [cursor] = await fresh.ctx.database.sql`select last_seq, failures from webhook_cursors where endpoint = ${url}`;
      expect(cursor).toMatchObject({ failures: 0 });
      expect(Number(cursor!.last_seq)).toBe(6);
    } finally {
      await dispatcher.stop();
      server.close();
      await fresh.cleanup();
    }
  });
});
