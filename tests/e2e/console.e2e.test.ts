// End to end, the review console in a real browser (Debian's Chromium driven by playwright-core) against Warden
// running for real: a performer publishes over RTMP, a moderator signs in to /console, a viewer reports the live
// broadcast and the case arrives in the queue without a reload (SSE), the moderator opens it with `n` (claimed),
// sees the evidence blurred until `r`, bans with `b` `Enter`, and the stream is cut within a second; the
// statement of reasons and the audit entry show in the console, the audit chain verifies and the performer
// cannot publish again; a panic press shows above everything; a publisher who reconnected to another ingest node shows
// as a broadcast resumed from another. Screenshots go to tests/artifacts/console/. Slow: run alone with `npm run test:e2e`.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { endBroadcast, openBroadcast, verifyAuditChain } from '../../db/index.ts';
import type { PublishEvent } from '../../ingest/index.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedAccount, seedPerformer, seedSession } from '../../bin/seed.ts';
import { totpCode } from '../../core/totp.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shots = path.join(root, 'tests/artifacts/console');
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'moderator password for e2e';

let env: TestEnv;
let warden: WardenHandle;
let video: string;
let browser: Browser;
let publisher: RtmpPublisher | undefined;
const events: (PublishEvent & { at: number })[] = [];

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  env = await createTestEnv();
  [warden, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true, workers: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 40 }),
  ]);
  warden.ingest!.events.on('publish', (e: PublishEvent) => events.push({ ...e, at: Date.now() }));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await publisher?.stop();
  await warden?.stop();
  await env?.cleanup();
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`) });

/** A new browser page signed in to the console (password, then the TOTP code), with its live connection up. */
async function signIn(email: string, totpSecret: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  await page.goto(`${warden.httpUrl}/console/`);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('login-totp').fill(totpCode(totpSecret));
  await page.getByTestId('login-submit').click();
  await expect.poll(() => page.getByTestId('live-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('live');
  return page;
}

describe('review console, end to end', () => {
  it('a moderator bans a live performer from the queue with the keyboard; the stream is cut within a second', async () => {
    expect(existsSync(CHROMIUM)).toBe(true);
    const { totpSecret } = await seedAccount(env.ctx.db, { email: 'e2e-mod@example.org', password: PASSWORD, role: 'moderator', handle: 'e2e-mod', totp: true, dataKey: env.config.dataKey });
    const performer = await seedPerformer(env.ctx.db, 'e2e-live-performer', { verified: true });
    const viewer = await seedSession(env.ctx.db, 'e2e-reporter', 'viewer');

    publisher = publishRtmp(video, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${performer.streamKey}`);
    const accepted = await waitFor(() => events.find((e) => e.type === 'accepted'), 'publish accepted', 15_000);
    const broadcastId = (accepted as { broadcastId: string }).broadcastId;
    await waitFor(async () => (await env.ctx.database.sql`select 1 from samples where broadcast_id = ${broadcastId} and kind = 'frame' and status = 'analysed' limit 1`).length > 0, 'an analysed frame', 30_000);

    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${warden.httpUrl}/console/`);
    await page.getByTestId('login-email').fill('e2e-mod@example.org');
    await page.getByTestId('login-password').fill('not the password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').count(), { timeout: 10_000 }).toBe(1);
    await shot(page, '01-login-refused');
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    // staff sign in with a second factor: the code from their authenticator app
    await page.getByTestId('login-totp').fill(totpCode(totpSecret!));
    await page.getByTestId('login-submit').click();
    await page.getByTestId('live-status').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('live-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('live');
    expect(await page.getByTestId('queue-row').count()).toBe(0);

    // a viewer reports the live broadcast: the case arrives in the open queue without a reload
    const report = await fetch(`${warden.httpUrl}/api/reports`, {
      method: 'POST', headers: { authorization: `Bearer ${viewer.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subjectType: 'broadcast', subjectId: broadcastId, category: 'sexual_content', note: 'explicit on stream' }),
    });
    expect(report.status).toBe(201);
    const { caseId } = await report.json() as { caseId: string };
    await page.locator(`[data-testid="queue-row"][data-case-id="${caseId}"]`).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('priority-count-high').getAttribute('data-count')).toBe('1');
    await shot(page, '02-queue-live-case');
    const tablet = await context.newPage(); // the same signed-in browser, a tablet-sized window
    await tablet.setViewportSize({ width: 1024, height: 768 });
    await tablet.goto(`${warden.httpUrl}/console/cases`);
    await tablet.locator(`[data-testid="queue-row"][data-case-id="${caseId}"]`).waitFor({ timeout: 10_000 }).catch(async (e) => { await shot(tablet, '03-tablet-failed'); throw e; });
    expect(await tablet.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true); // no sideways scrolling
    await shot(tablet, '03-queue-tablet-1024');
    await tablet.close();

    // `n`: the next case opens, claimed by this moderator, evidence blurred
    await page.keyboard.press('n');
    await page.locator(`[data-testid="case-view"][data-case-id="${caseId}"]`).waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('claim-holder').getAttribute('data-mine'), { timeout: 10_000 }).toBe('true');
    const image = page.getByTestId('evidence-image').first();
    await image.waitFor({ timeout: 10_000 });
    expect(await image.getAttribute('data-revealed')).toBe('false');
    expect(await image.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { filter: string } }).getComputedStyle(el).filter)).toMatch(/blur\(.+\).*grayscale\(1\)/);
    await shot(page, '04-case-blurred');
    await page.keyboard.press('r');
    await expect.poll(() => image.getAttribute('data-revealed')).toBe('true');
    await expect.poll(() => image.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { filter: string } }).getComputedStyle(el).filter)).toBe('none'); // after the fade
    await shot(page, '05-case-revealed');

    // `b` `Enter`: banned with the suggested reason code; the publisher is disconnected at once
    await page.keyboard.press('b');
    await page.getByTestId('decision-dialog').waitFor();
    expect(await page.getByTestId('reason-code').inputValue().catch(async () => page.getByTestId('reason-code').textContent())).toMatch(/sexual_content|Sexual content/);
    const pressedAt = Date.now();
    await page.keyboard.press('Enter');
    const ended = await waitFor(() => events.find((e) => e.type === 'ended' && e.broadcastId === broadcastId), 'the stream cut', 5000, 10);
    const cutMs = ended.at - pressedAt;
    console.log(`keypress to stream cut: ${cutMs} ms`);
    expect(cutMs).toBeLessThan(1500);
    await waitFor(async () => (await Promise.race([publisher!.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))])) as boolean, 'the publisher process to exit', 5000);

    await page.getByTestId('undo-snackbar').waitFor({ timeout: 5000 });
    await page.getByTestId('statement-of-reasons').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('statement-of-reasons').textContent()).toMatch(/ban/i);
    await page.locator('[data-testid="audit-entry"][data-action="ban"]').first().waitFor({ timeout: 10_000 });
    await shot(page, '06-banned-statement-audit');

    const [ban] = await env.ctx.database.sql`select kind from bans where user_id = ${performer.userId} and lifted_at is null`;
    expect(ban).toMatchObject({ kind: 'ban' });
    expect((await env.ctx.db.execute<{ decided_by: string }>(sql`select decided_by from cases where id = ${caseId}`))[0]).toBeTruthy();
    const chain = await verifyAuditChain(env.ctx.db);
    expect(chain.ok).toBe(true);

    // the banned performer cannot go live again
    const before = events.length;
    const retry = publishRtmp(video, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${performer.streamKey}`);
    const refused = await waitFor(() => events.slice(before).find((e) => e.type !== 'ended'), 'the republish verdict', 15_000);
    await retry.stop();
    expect(refused).toMatchObject({ type: 'refused', reason: 'banned' });
    expect(errors).toEqual([]);
  }, 120_000);

  it('a panic press shows above everything in the console within a fraction of a second; acknowledge and resolve', async () => {
    const { totpSecret } = await seedAccount(env.ctx.db, { email: 'e2e-mod2@example.org', password: PASSWORD, role: 'moderator', handle: 'e2e-mod2', totp: true, dataKey: env.config.dataKey });
    const performer = await seedSession(env.ctx.db, 'e2e-panicking', 'performer');
    const page = await signIn('e2e-mod2@example.org', totpSecret!);
    await page.waitForTimeout(500); // the alert stream opens with the layout
    const pressed = Date.now();
    const res = await fetch(`${warden.httpUrl}/api/alerts/panic`, {
      method: 'POST', headers: { authorization: `Bearer ${performer.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'someone is in my room' }),
    });
    expect(res.status).toBe(202);
    const { alert } = await res.json() as { alert: { id: string } };
    const banner = page.locator(`[data-testid="panic-alert"][data-alert-id="${alert.id}"]`);
    await banner.waitFor({ timeout: 5000 });
    const shownMs = Date.now() - pressed;
    console.log(`panic press to console banner: ${shownMs} ms`);
    expect(shownMs).toBeLessThan(1000);
    expect(await banner.textContent()).toContain('someone is in my room');
    await shot(page, '07-panic-alert');
    await banner.getByTestId('panic-ack').click();
    await expect.poll(() => banner.getAttribute('data-status')).toBe('acknowledged');
    await banner.getByTestId('panic-resolution').fill('spoke with the performer; police called');
    await banner.getByTestId('panic-resolve').click();
    await banner.waitFor({ state: 'detached', timeout: 5000 });
    // every console hears the resolution over Redis first; the audit entry is written right after
    const audit = async () => (await env.ctx.database.sql`select action from actions where subject_id = ${alert.id} order by chain_seq`).map((r) => r.action);
    await expect.poll(audit, { timeout: 5000 }).toEqual(['panic', 'acknowledge_alert', 'resolve_alert']);
    await page.context().close();
  }, 60_000);
  it('a publisher who reconnected to another ingest node shows as one broadcast continuing another', async () => {
    const { totpSecret } = await seedAccount(env.ctx.db, { email: 'e2e-mod3@example.org', password: PASSWORD, role: 'moderator', handle: 'e2e-mod3', totp: true, dataKey: env.config.dataKey });
    const performer = await seedPerformer(env.ctx.db, 'e2e-reconnector', { verified: true });
    const [key] = await env.ctx.database.sql`select id from stream_keys where user_id = ${performer.userId}`;
    // two ingest nodes' publishes of the same key, as the scale-out test makes them for real: the second supersedes the first
    const first = await openBroadcast(env.ctx.db, { userId: performer.userId, streamKeyId: key!.id, ingestNode: 'ingest-a' });
    const second = await openBroadcast(env.ctx.db, { userId: performer.userId, streamKeyId: key!.id, ingestNode: 'ingest-b' });
    const page = await signIn('e2e-mod3@example.org', totpSecret!);
    try {
      await page.goto(`${warden.httpUrl}/console/broadcasts`);
      const live = page.locator(`[data-testid="broadcast-card"][data-broadcast-id="${second.id}"]`);
      await live.waitFor({ timeout: 10_000 });
      expect(await live.getByTestId('broadcast-link').textContent()).toMatch(/resumed after a reconnect/);
      expect(await live.getByTestId('broadcast-link').getAttribute('title')).toContain(first.id);
      await shot(page, '10-broadcast-reconnected');
      await page.getByTestId('broadcasts-ended').click();
      const ended = page.locator(`[data-testid="broadcast-card"][data-broadcast-id="${first.id}"]`);
      await ended.waitFor({ timeout: 10_000 });
      expect(await ended.getByTestId('broadcast-link').textContent()).toMatch(/resumed on another node/);
      expect(await ended.textContent()).toMatch(/superseded by a new publish/i);
    } finally {
      await endBroadcast(env.ctx.db, second.id, 'test over');
      await page.context().close();
    }
  }, 60_000);
});
