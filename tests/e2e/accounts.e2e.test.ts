// End to end in Debian's Chromium (playwright-core) against the API running for real: a staff account's first
// sign-in to the review console is forced through setting up two-factor sign-in (the key read from the page, the
// code computed as an authenticator app would), and the next sign-in needs password and code. At phone
// (390×844) and desktop (1366×768) sizes, with axe-core on the sign-in page; screenshots in tests/artifacts/accounts/.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedAccount } from '../../bin/seed.ts';
import { totpCode } from '../../core/totp.ts';
import { createTestEnv, type TestEnv } from '../harness.ts';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shots = path.join(root, 'tests/artifacts/accounts');
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'staff password for the e2e';
const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1366, height: 768 } } as const;

let env: TestEnv;
let warden: WardenHandle;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  env = await createTestEnv();
  warden = await startWarden(env.ctx, { api: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await warden?.stop();
  await env?.cleanup();
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

/** axe-core on the page: the serious and critical violations (id and the first offending element). */
async function axeProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: require.resolve('axe-core') });
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[]; failureSummary?: string }[] }[] }> } }).axe;
    return axe.run();
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('; ')}`);
}

describe('staff two-factor sign-in in the review console', () => {
  for (const [size, viewport] of Object.entries(SIZES)) {
    it(`${size}: the first sign-in sets up TOTP from the page; the next needs password and code`, async () => {
      expect(existsSync(CHROMIUM)).toBe(true);
      const email = `e2e-staff-${size}@example.org`;
      const { userId } = await seedAccount(env.ctx.db, { email, password: PASSWORD, role: 'senior_moderator', handle: `e2e-staff-${size}` });
      const context = await browser.newContext({ viewport, bypassCSP: true }); // axe-core is injected as an inline script
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));

      await page.goto(`${warden.httpUrl}/console/`);
      await page.getByTestId('login-email').waitFor();
      expect(await page.getByTestId('login-email').getAttribute('autocomplete')).toBe('username');
      expect(await page.getByTestId('login-password').getAttribute('autocomplete')).toBe('current-password');
      expect(await axeProblems(page)).toEqual([]);
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
      expect(await axeProblems(page)).toEqual([]);
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
      expect(await axeProblems(page)).toEqual([]);
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
