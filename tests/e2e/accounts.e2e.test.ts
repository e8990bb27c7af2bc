// End to end in Debian's Chromium (playwright-core) against the API running for real: a staff account's first
// sign-in to the review console is forced through setting up two-factor sign-in (the key read from the page, the
// code computed as an authenticator app would), and the next sign-in needs password and code. Then the shared
// account components (web/common/account/) on a test page: sign-up with the guidelines, turning TOTP on, a second
// device signing in with a code, revoking a device, a password reset from the e-mail's link, and a staff member
// enrolling through SignInForm. At phone (390×844) and desktop (1366×768) sizes, with axe-core on every page;
// screenshots in tests/artifacts/accounts/.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { serve, type ServerType } from '@hono/node-server';
import { build } from 'esbuild';
import { createApi } from '../../api/index.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedAccount } from '../../bin/seed.ts';
import { totpCode } from '../../core/totp.ts';
import { axeViolations } from './axe.ts';
import { createTestEnv, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shots = path.join(root, 'tests/artifacts/accounts');
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'staff password for the e2e';
const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1366, height: 768 } } as const;

let env: TestEnv;
let warden: WardenHandle;
let browser: Browser;
/** The account components' test page, served under /studio by a second API server on the same stores. */
let fixtureDir: string;
let fixtureServer: ServerType;
let fixtureUrl: string;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  env = await createTestEnv();
  warden = await startWarden(env.ctx, { api: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  fixtureDir = await mkdtemp(path.join(os.tmpdir(), 'warden-account-ui-'));
  await build({
    entryPoints: [path.join(root, 'web/common/account/test-page.tsx')], bundle: true, format: 'esm', jsx: 'automatic', minify: true,
    outfile: path.join(fixtureDir, 'assets/account-ui.js'), define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'error',
  });
  writeFileSync(path.join(fixtureDir, 'index.html'), '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Account components</title></head><body><div id="root"></div><script type="module" src="/studio/assets/account-ui.js"></script></body></html>');
  const app = createApi({ ctx: env.ctx, webDirs: { studio: fixtureDir, watch: fixtureDir } });
  fixtureServer = await new Promise<ServerType>((resolve) => { const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s)); });
  fixtureUrl = `http://127.0.0.1:${(fixtureServer.address() as { port: number }).port}/studio/`;
}, 120_000);
afterAll(async () => {
  await new Promise((r) => fixtureServer?.close(r));
  await rm(fixtureDir, { recursive: true, force: true }).catch(() => {});
  await browser?.close();
  await warden?.stop();
  await env?.cleanup();
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

describe('staff two-factor sign-in in the review console', () => {
  for (const [size, viewport] of Object.entries(SIZES)) {
    it(`${size}: the first sign-in sets up TOTP from the page; the next needs password and code`, async () => {
      expect(existsSync(CHROMIUM)).toBe(true);
      const email = `e2e-staff-${size}@example.org`;
      const { userId } = await seedAccount(env.ctx.db, { email, password: PASSWORD, role: 'senior_moderator', handle: `e2e-staff-${size}` });
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));

      await page.goto(`${warden.httpUrl}/console/`);
      await page.getByTestId('login-email').waitFor();
      expect(await page.getByTestId('login-email').getAttribute('autocomplete')).toBe('username');
      expect(await page.getByTestId('login-password').getAttribute('autocomplete')).toBe('current-password');
      expect(await axeViolations(page)).toEqual([]);
      await shot(page, `${size}-01-sign-in`);

      // the keyboard alone: type, Tab to the password, Enter submits
      await page.getByTestId('login-email').focus();
      await page.keyboard.type(email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      const form = page.getByTestId('login-form');
      await expect.poll(() => form.getAttribute('data-step'), { timeout: 10_000 }).toBe('enrol');
      const qr = page.getByTestId('enrol-qr');
      await qr.waitFor();
      expect(await qr.getAttribute('alt')).toMatch(/QR code/);
      expect(await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(100); // a real PNG
      const secret = await page.getByTestId('enrol-secret').getAttribute('data-secret');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect((await page.getByTestId('enrol-secret').textContent())!.replace(/\s/g, '')).toBe(secret);
      const codeField = page.getByTestId('enrol-code');
      expect(await codeField.getAttribute('autocomplete')).toBe('one-time-code');
      expect(await codeField.getAttribute('inputmode')).toBe('numeric');
      expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } | null } }).document.activeElement?.getAttribute('data-testid'))).toBe('enrol-code');
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      expect(await axeViolations(page)).toEqual([]);
      await shot(page, `${size}-02-enrol`);

      // a wrong code first: refused, still on the set-up step
      await codeField.fill(totpCode(secret!, Date.now() - 10 * 60_000));
      await page.keyboard.press('Enter');
      await page.getByTestId('login-error').waitFor({ timeout: 10_000 });
      expect(await form.getAttribute('data-step')).toBe('enrol');
      await codeField.fill(totpCode(secret!));
      await page.getByTestId('enrol-submit').click();
      await page.waitForURL(/\/console\/cases/, { timeout: 15_000 });
      await shot(page, `${size}-03-signed-in`);
      const [row] = await env.ctx.db.execute<{ on: boolean }>(sql`select totp_enabled_at is not null as on from users where id = ${userId}`);
      expect(row!.on).toBe(true);

      // sign out and in again: password, then the code (the next step's: the enrolling code is used)
      await context.clearCookies();
      await page.goto(`${warden.httpUrl}/console/`);
      await page.getByTestId('login-email').fill(email);
      await page.getByTestId('login-password').fill(PASSWORD);
      await page.getByTestId('login-submit').click();
      await expect.poll(() => form.getAttribute('data-step'), { timeout: 10_000 }).toBe('totp');
      const totp = page.getByTestId('login-totp');
      expect(await totp.getAttribute('autocomplete')).toBe('one-time-code');
      expect(await axeViolations(page)).toEqual([]);
      await shot(page, `${size}-04-code`);
      await totp.fill(totpCode(secret!, Date.now() + 30_000));
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/console\/cases/, { timeout: 15_000 });
      const actions = await env.ctx.db.execute<{ action: string; via: string | null }>(sql`select action, details->>'via' as via from actions where user_id = ${userId} order by id`);
      expect(actions.map((a) => a.action)).toEqual(['totp_enrollment_required', 'login_failed', 'totp_enabled', 'login', 'login']);
      expect(actions.filter((a) => a.action === 'login').map((a) => a.via)).toEqual(['password+totp-enrolment', 'password+totp']);
      expect(errors).toEqual([]);
      await context.close();
    }, 90_000);
  }
});

describe('the shared account components (web/common/account)', () => {
  for (const [size, viewport] of Object.entries(SIZES)) {
    it(`${size}: sign up with the guidelines, turn TOTP on, sign in on a second device with a code, revoke a device, reset the password`, async () => {
      const email = `ui-${size}@example.org`;
      const one = await browser.newContext({ viewport });
      const page = await one.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));

      // sign-up: the guidelines shown and required
      await page.goto(`${fixtureUrl}#signup`);
      await page.getByTestId('signup-guidelines').getByRole('heading', { name: 'Community guidelines' }).waitFor();
      expect(await page.getByTestId('signup-password').getAttribute('autocomplete')).toBe('new-password');
      expect(await axeViolations(page)).toEqual([]);
      await page.getByTestId('signup-email').fill(email);
      await page.getByTestId('signup-handle').fill(`ui_${size}`);
      await page.getByTestId('signup-password').fill(PASSWORD);
      await page.getByTestId('signup-submit').click();
      expect(await page.getByTestId('signup-error').textContent()).toMatch(/Accept the community guidelines/);
      await page.getByTestId('signup-accept').focus();
      await page.keyboard.press('Space');
      await shot(page, `${size}-10-signup`);
      await page.getByTestId('signup-submit').click();

      // account security: turn two-factor sign-in on with the key from the page
      await page.getByTestId('totp-section').waitFor({ timeout: 10_000 });
      expect(await page.getByTestId('totp-section').getAttribute('data-enabled')).toBe('false');
      await page.getByTestId('totp-start').click();
      const secret = (await page.getByTestId('totp-secret').getAttribute('data-secret'))!;
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(await page.getByTestId('totp-code').getAttribute('autocomplete')).toBe('one-time-code');
      expect(await axeViolations(page)).toEqual([]);
      await shot(page, `${size}-11-totp-setup`);
      await page.getByTestId('totp-code').fill(totpCode(secret));
      await page.getByTestId('totp-enable').click();
      await page.getByTestId('totp-notice').waitFor();
      expect(await page.getByTestId('totp-section').getAttribute('data-enabled')).toBe('true');
      expect(await page.getByTestId('session-row').count()).toBe(1);

      // a second device signs in: password, then a code (the next step's: the enabling one is used)
      const two = await browser.newContext({ viewport });
      const second = await two.newPage();
      second.on('pageerror', (e) => errors.push(e.message));
      await second.goto(fixtureUrl);
      await second.getByTestId('signin-email').fill(email);
      await second.getByTestId('signin-password').fill(PASSWORD);
      await second.getByTestId('signin-submit').click();
      await second.getByTestId('signin-totp').waitFor({ timeout: 10_000 });
      expect(await axeViolations(second)).toEqual([]);
      await shot(second, `${size}-12-signin-code`);
      await second.getByTestId('signin-totp').fill(totpCode(secret, Date.now() + 30_000));
      await second.keyboard.press('Enter');
      await second.getByTestId('session-row').nth(1).waitFor({ timeout: 10_000 });
      expect(await second.getByTestId('session-row').count()).toBe(2);
      expect(await axeViolations(second)).toEqual([]);
      await shot(second, `${size}-13-account`);
      // sign the first device out from the second
      await second.locator('[data-testid="session-row"][data-current="false"]').getByTestId('session-revoke').click();
      await expect.poll(() => second.getByTestId('session-row').count()).toBe(1);
      expect((await page.evaluate(async () => (await fetch('/api/me')).status))).toBe(401);

      // password reset: ask for a link, open it, choose a new password; every device is signed out
      await second.goto(`${fixtureUrl}#signin`);
      await second.getByTestId('signin-forgot').click();
      await second.getByTestId('reset-email').fill(email);
      await second.getByTestId('reset-request-submit').click();
      await second.getByTestId('reset-requested').waitFor();
      expect(await axeViolations(second)).toEqual([]);
      const [mail] = await env.ctx.db.execute<{ body: string }>(sql`select body from mail_outbox where to_address = ${email}`);
      const link = mail!.body.match(/\/studio\/reset\?token=(\S+)/)![1]!;
      await second.goto(`${fixtureUrl}#reset?token=${link}`);
      await second.getByTestId('reset-password').waitFor({ timeout: 5000 }).catch(async (e) => { await shot(second, `${size}-failed-reset`); throw e; });
      await second.getByTestId('reset-password').fill('my new passphrase here');
      await second.getByTestId('reset-repeat').fill('my new passphrase hera');
      await second.getByTestId('reset-confirm-submit').click();
      expect(await second.getByTestId('reset-error').textContent()).toMatch(/not the same/);
      await second.getByTestId('reset-repeat').fill('my new passphrase here');
      await second.getByTestId('reset-confirm-submit').click();
      await second.getByTestId('reset-done').waitFor();
      expect(await axeViolations(second)).toEqual([]);
      await shot(second, `${size}-14-reset-done`);
      expect((await second.evaluate(async () => (await fetch('/api/me')).status))).toBe(401);
      await second.reload(); // the link again, in a fresh page: it works once
      await second.getByTestId('reset-password').fill('another new passphrase');
      await second.getByTestId('reset-repeat').fill('another new passphrase');
      await second.getByTestId('reset-confirm-submit').click();
      expect(await second.getByTestId('reset-error').textContent()).toMatch(/not valid any more/);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      expect(errors).toEqual([]);
      await one.close();
      await two.close();
    }, 90_000);
  }

  it('a staff member signing in through SignInForm for the first time sets up TOTP there', async () => {
    await seedAccount(env.ctx.db, { email: 'ui-staff@example.org', password: PASSWORD, role: 'moderator', handle: 'ui-staff' });
    const context = await browser.newContext({ viewport: SIZES.phone });
    const page = await context.newPage();
    await page.goto(fixtureUrl);
    await page.getByTestId('signin-email').fill('ui-staff@example.org');
    await page.getByTestId('signin-password').fill(PASSWORD);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('signin-enrol-code').waitFor({ timeout: 10_000 });
    const secret = (await page.getByTestId('totp-secret').getAttribute('data-secret'))!;
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'phone-15-staff-enrol');
    await page.getByTestId('signin-enrol-code').fill(totpCode(secret));
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('totp-staff').waitFor({ timeout: 10_000 }); // signed in; staff cannot turn it off
    expect(await page.getByTestId('totp-disable-start').count()).toBe(0);
    await context.close();
  }, 60_000);
});
