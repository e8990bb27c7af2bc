// End to end, the performer studio in a real browser (Debian's Chromium driven by playwright-core, at phone size)
// against Warden running for real (API + ingest): a performer signs up in /studio accepting the community
// guidelines, tries the camera (Chromium's fake camera), submits a verification by uploading an ID-document photo
// and a selfie made from a real photograph, a moderator approves it in the review console, the performer creates
// a stream key and reads it once from the page, goes live by publishing with ffmpeg to the RTMP URL the studio
// shows, sees the live status, holds the panic button (keyboard, with the ring filling), sees "moderators
// alerted" at once, a moderator (signed in to the console with password and TOTP code) acknowledges and the
// studio shows who did, then it is resolved.
// Screenshots at 390×844 and 1366×768 go to tests/artifacts/studio/; axe-core checks every main studio page
// (no serious or critical violations). Slow: run alone with `npm run test:e2e`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishEvent } from '../../ingest/index.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedAccount } from '../../bin/seed.ts';
import { totpCode } from '../../core/totp.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../../bin/demo-media.ts';
import { axeViolations } from './axe.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shots = path.join(root, 'tests/artifacts/studio');
const CHROMIUM = '/usr/bin/chromium';
const MOD_PASSWORD = 'moderator password for the studio e2e';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1366, height: 768 };

let env: TestEnv;
let warden: WardenHandle;
let video: string;
let browser: Browser;
let publisher: RtmpPublisher | undefined;
const events: (PublishEvent & { at: number })[] = [];
const figures: string[] = [];

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  execFileSync('bash', [path.join(root, 'scripts/build-console.sh'), '--quiet', 'web/studio', 'review-console'], { cwd: root, stdio: 'inherit' });
  env = await createTestEnv();
  [warden, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 40 }),
  ]);
  warden.ingest!.events.on('publish', (e: PublishEvent) => events.push({ ...e, at: Date.now() }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await publisher?.stop();
  await warden?.stop();
  await env?.cleanup();
  if (figures.length) console.log(`studio e2e figures:\n  ${figures.join('\n  ')}`);
});

/** Screenshots of the page at phone and desktop size (the page is left at phone size). */
async function shootBoth(page: Page, name: string): Promise<void> {
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: path.join(shots, `${name}-390x844.png`) });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(shots, `${name}-1366x768.png`) });
  await page.setViewportSize(PHONE);
}

/** axe-core on the page as it is: no serious or critical violations, and no sideways scrolling at phone size. */
async function accessible(page: Page, what: string): Promise<void> {
  const bad = (await axeViolations(page)).map((v) => `${what}: ${v}`);
  expect(bad).toEqual([]);
  expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), `${what}: no sideways scrolling`).toBe(true);
}

/** The ID-document photo and the selfie (as bin/demo-gates.ts makes them): one person cropped from a sample photo; the selfie rotated, rescaled, WebP. */
async function documentAndSelfie(dir: string): Promise<{ document: string; selfie: string }> {
  const photo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample2.jpg');
  const crop = await sharp(photo).extract({ left: 1300, top: 0, width: 620, height: 1000 }).jpeg({ quality: 90 }).toBuffer();
  const selfie = await sharp(crop).rotate(4, { background: '#000' }).resize({ width: 420 }).webp({ quality: 80 }).toBuffer();
  const files = { document: path.join(dir, 'passport.jpg'), selfie: path.join(dir, 'selfie.webp') };
  await writeFile(files.document, crop);
  await writeFile(files.selfie, selfie);
  return files;
}

/** Signs a moderator in to the console: e-mail and password on its login page, then the TOTP code it asks for. */
async function consoleSignIn(context: BrowserContext, email: string, totp: () => string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${warden.httpUrl}/console/`);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(MOD_PASSWORD);
  await page.getByTestId('login-submit').click();
  const code = page.locator('input[autocomplete="one-time-code"]');
  await code.waitFor({ timeout: 15_000 });
  await code.fill(totp());
  await page.keyboard.press('Enter');
  await page.getByTestId('live-status').waitFor({ timeout: 15_000 });
  return page;
}

describe('performer studio, end to end', () => {
  it('sign up, verify (approved in the console), create a key, go live, panic and see the acknowledgement', async () => {
    expect(existsSync(CHROMIUM)).toBe(true);
    const images = await documentAndSelfie(env.config.dataDir);
    const mod = await seedAccount(env.ctx.db, { email: 'studio-mod@example.org', password: MOD_PASSWORD, role: 'moderator', handle: 'studio-mod', totp: true, dataKey: env.config.dataKey });

    const studio = await browser.newContext({ viewport: PHONE, permissions: ['camera', 'clipboard-read', 'clipboard-write'], hasTouch: false });
    const page = await studio.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    // ---- sign up as a performer, accepting the community guidelines ----
    await page.goto(`${warden.httpUrl}/studio/`);
    await page.getByTestId('tab-signup').click();
    await page.getByTestId('signup-guidelines').getByRole('heading', { level: 3 }).first().waitFor(); // the sections have loaded
    await page.getByTestId('signup-email').fill('new-performer@example.org');
    await page.getByTestId('signup-handle').fill('new-performer');
    await page.getByTestId('signup-password').fill('a long performer passphrase');
    await page.getByTestId('signup-submit').click(); // not before the guidelines are accepted
    await page.getByTestId('signup-error').waitFor();
    await page.getByTestId('signup-accept').check();
    await accessible(page, 'sign-up');
    await shootBoth(page, '01-sign-up');
    await page.getByTestId('signup-submit').click();
    await page.getByTestId('signed-in-as').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('signed-in-as').textContent()).toContain('@new-performer');
    const [account] = await env.ctx.database.sql`select id, role, guidelines_version, guidelines_accepted_at from users where handle = 'new-performer'`;
    expect(account).toMatchObject({ role: 'performer' });
    expect(account!.guidelines_accepted_at).toBeTruthy();
    await page.getByTestId('live-status').waitFor();
    expect(await page.getByTestId('live-status').getAttribute('data-status')).toBe('offline');
    expect(await page.getByTestId('panic-button').count()).toBe(0); // only while live
    await accessible(page, 'live (offline)');

    // ---- verification: the camera (Chromium's fake device), then the real photos uploaded ----
    await page.getByTestId('nav-verification').click();
    await page.getByTestId('verification-section').waitFor();
    await page.getByTestId('dob').fill('1994-05-17');
    await page.getByTestId('document-camera-open').click();
    const cameraOk = await Promise.race([
      page.getByTestId('document-camera-preview').waitFor({ timeout: 10_000 }).then(() => true),
      page.getByTestId('document-camera-error').waitFor({ timeout: 10_000 }).then(() => false),
    ]);
    if (cameraOk) {
      await waitFor(() => page.getByTestId('document-camera-preview').evaluate((v) => (v as unknown as { videoWidth: number }).videoWidth > 0), 'the camera preview to play', 10_000);
      await shootBoth(page, '02-camera-preview');
      await page.getByTestId('document-camera-capture').click();
      await page.getByTestId('document-chosen').waitFor();
      expect(await page.getByTestId('document-chosen').getAttribute('data-name')).toBe('document.jpg');
      figures.push('camera capture: Chromium\'s fake camera opened, previewed and captured a JPEG');
    } else {
      figures.push(`camera capture: not available here (${await page.getByTestId('document-camera-error').textContent()})`);
    }
    // the fake camera shows a test pattern, not a face: upload the real photos for the submission
    await page.getByTestId('document-file').setInputFiles(images.document);
    await page.getByTestId('selfie-file').setInputFiles(images.selfie);
    await page.getByTestId('selfie-chosen').waitFor();
    expect(await page.getByTestId('document-chosen').getAttribute('data-name')).toBe('passport.jpg');
    await accessible(page, 'verification');
    await shootBoth(page, '03-verification-form');
    await page.getByTestId('verification-submit').click();
    await page.locator('[data-testid="verification-result"][data-ok="true"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="verification-row"][data-status="pending"]').waitFor();
    await shootBoth(page, '04-verification-pending');
    const [v] = await env.ctx.database.sql`select v.id, c.id as case_id, v.face_distance, v.face_threshold from verifications v join cases c on c.subject_type = 'verification' and c.subject_id = v.id::text where v.user_id = ${account!.id}`;
    expect(v).toBeTruthy();
    figures.push(`verification uploaded through the page: face distance ${Number(v!.face_distance).toFixed(3)} (threshold ${v!.face_threshold})`);

    // ---- a moderator approves it in the review console ----
    const consoleContext = await browser.newContext({ viewport: DESKTOP });
    const consolePage = await consoleSignIn(consoleContext, 'studio-mod@example.org', () => totpCode(mod.totpSecret!));
    await consolePage.goto(`${warden.httpUrl}/console/cases/${v!.case_id}`);
    await consolePage.getByTestId('verification-panel').waitFor({ timeout: 15_000 });
    await consolePage.keyboard.press('c');
    await expect.poll(() => consolePage.getByTestId('claim-holder').getAttribute('data-mine'), { timeout: 10_000 }).toBe('true');
    await consolePage.getByTestId('decide-approve').click();
    await consolePage.getByTestId('decision-dialog').waitFor();
    const confirmApprove = consolePage.getByTestId('confirm-action');
    await expect.poll(() => confirmApprove.isEnabled(), { timeout: 10_000 }).toBe(true);
    await confirmApprove.click();
    await consolePage.locator('[data-testid="decision-panel"][data-state="decided"]').waitFor({ timeout: 10_000 })
      .catch(async (err) => { await consolePage.screenshot({ path: path.join(shots, '05-console-approve-failed.png') }); throw err; });
    await consolePage.screenshot({ path: path.join(shots, '05-console-approved-1366x768.png') });

    await page.reload();
    await page.locator('[data-testid="verification-row"][data-status="approved"]').waitFor({ timeout: 10_000 });
    await shootBoth(page, '06-verification-approved');

    // ---- a stream key, shown once ----
    await page.getByTestId('nav-keys').click();
    await page.getByTestId('create-key').click();
    await page.getByTestId('new-key').waitFor({ timeout: 10_000 });
    const streamKey = await page.getByTestId('new-key-value').inputValue();
    expect(streamKey.length).toBeGreaterThan(20);
    expect(await page.getByTestId('new-key').textContent()).toMatch(/will not see it again/);
    await page.getByTestId('copy-key').click();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(streamKey);
    const ingestUrl = await page.getByTestId('ingest-url').inputValue();
    expect(ingestUrl).toBe(`rtmp://127.0.0.1:${env.config.rtmp.port}/live/`);
    expect(await page.getByTestId('encoder-settings').textContent()).toMatch(/Keyframe interval: 2 s.*H\.264.*AAC/);
    await accessible(page, 'stream keys');
    await shootBoth(page, '07-key-shown-once');
    await page.getByTestId('key-saved').click();
    expect(await page.getByTestId('new-key').count()).toBe(0);
    expect(await page.locator('[data-testid="key-row"]').count()).toBe(1);
    expect(await page.content()).not.toContain(streamKey); // gone from the page

    // ---- live: publish with ffmpeg to what the studio showed ----
    publisher = publishRtmp(video, `${ingestUrl}${streamKey}`, { loop: true });
    const accepted = await waitFor(() => events.find((e) => e.type === 'accepted'), 'publish accepted', 20_000);
    const broadcastId = (accepted as { broadcastId: string }).broadcastId;
    await page.getByTestId('nav-live').click();
    await page.locator(`[data-testid="live-status"][data-status="live"][data-broadcast-id="${broadcastId}"]`).waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="live-health"][data-state="ok"]').waitFor({ timeout: 20_000 });
    const panicButton = page.getByTestId('panic-button');
    await panicButton.waitFor();
    // the button is on screen (fixed at the bottom) on every section while live
    for (const s of ['room', 'statements', 'live'] as const) {
      await page.getByTestId(`nav-${s}`).click();
      expect(await panicButton.isVisible()).toBe(true);
      const box = (await panicButton.boundingBox())!;
      expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
      expect(box.height).toBeGreaterThanOrEqual(72);
      if (s !== 'live') await accessible(page, s);
    }
    await accessible(page, 'live');
    await shootBoth(page, '08-live-status');

    // ---- panic: a single short tap only arms it; holding Space fires it ----
    await panicButton.click();
    expect(await panicButton.getAttribute('data-armed')).toBe('true');
    await page.waitForTimeout(300);
    expect(await page.getByTestId('panic-status').count()).toBe(0); // nothing sent by one tap
    await page.waitForTimeout(4200); // the first tap expires
    expect(await panicButton.getAttribute('data-armed')).toBe('false');

    const consoleBanner = consolePage.locator('[data-testid="panic-alert"]');
    await panicButton.focus();
    const pressedAt = Date.now();
    await page.keyboard.down(' ');
    await page.waitForTimeout(500);
    const midway = Number(await panicButton.getAttribute('data-progress'));
    expect(midway).toBeGreaterThan(20);
    expect(midway).toBeLessThan(100);
    await page.screenshot({ path: path.join(shots, '09-panic-holding-390x844.png') });
    await page.getByTestId('panic-alerted').waitFor({ timeout: 5000 });
    const shownMs = Date.now() - pressedAt - 1000;
    await page.keyboard.up(' ');
    figures.push(`panic: Space held 1 s → "moderators alerted" on the page ${Math.max(0, shownMs)} ms after the hold completed (includes a screenshot taken mid-hold)`);
    expect(await page.getByTestId('panic-status').textContent()).toMatch(/Moderators alerted/);
    await consoleBanner.first().waitFor({ timeout: 5000 });
    const alertId = (await consoleBanner.first().getAttribute('data-alert-id'))!;
    const [stored] = await waitFor(async () => {
      const rows = await env.ctx.database.sql`select user_id, broadcast_id from alerts where id = ${alertId}`;
      return rows.length ? rows : null;
    }, 'the alert stored', 5000);
    expect(stored).toMatchObject({ user_id: account!.id, broadcast_id: broadcastId });
    await accessible(page, 'live with the panic status');
    await shootBoth(page, '10-moderators-alerted');

    // ---- a moderator acknowledges in the console: the studio shows who ----
    const ackAt = Date.now();
    await consoleBanner.first().getByTestId('panic-ack').click();
    await page.getByTestId('panic-acknowledged').waitFor({ timeout: 5000 });
    figures.push(`console acknowledge → studio shows it: ${Date.now() - ackAt} ms`);
    expect(await page.getByTestId('panic-acknowledged').textContent()).toContain('@studio-mod');
    expect(await page.getByTestId('panic-status').getAttribute('data-status')).toBe('acknowledged');
    await accessible(page, 'live, alert acknowledged');
    await shootBoth(page, '11-acknowledged');
    await consolePage.screenshot({ path: path.join(shots, '12-console-acknowledged-1366x768.png') });
    await consoleBanner.first().getByTestId('panic-resolution').fill('spoke with the performer; safe');
    await consoleBanner.first().getByTestId('panic-resolve').click();
    await page.getByTestId('panic-resolved').waitFor({ timeout: 5000 });
    expect(await page.getByTestId('panic-resolved').textContent()).toContain('@studio-mod');
    await accessible(page, 'live, alert resolved');
    await shootBoth(page, '13-resolved');

    // ---- the other pages, checked and photographed ----
    await page.getByTestId('nav-room').click();
    await page.getByTestId('block-handle').fill('studio-mod');
    await page.getByTestId('block-submit').click();
    await page.getByTestId('room-message').waitFor();
    expect(await page.getByTestId('room-message').textContent()).toMatch(/staff/); // staff cannot be blocked
    await accessible(page, 'room');
    await shootBoth(page, '14-room');
    await page.getByTestId('nav-statements').click();
    await page.getByTestId('statements-section').waitFor();
    await accessible(page, 'statements');
    await shootBoth(page, '15-statements');
    await page.getByTestId('nav-account').click();
    await page.getByTestId('account-section').waitFor();
    await page.getByTestId('totp-section').waitFor(); // two-factor sign-in and the devices, from the shared account components
    await page.locator('[data-testid="session-row"][data-current="true"]').waitFor();
    await accessible(page, 'account');
    await shootBoth(page, '16-account');
    // the password-reset link of the e-mail opens the studio's reset page
    const reset = await studio.newPage();
    await reset.goto(`${warden.httpUrl}/studio/reset?token=not-a-real-token`);
    await reset.getByTestId('reset-confirm-form').waitFor();
    await accessible(reset, 'password reset');
    await shootBoth(reset, '17-password-reset');
    expect(errors).toEqual([]);
    await consoleContext.close();
    await studio.close();
  }, 240_000);
});
