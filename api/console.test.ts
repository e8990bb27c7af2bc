// The web apps' static serving (api/console.ts) on a real directory: index and client routes, hashed assets
// cached for a year, precompressed siblings, 404 for missing assets, 503 without a build, and no way out of the
// build directory (dot-dot, encoded dot-dot, symlinks).
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WATCH_CSP, spaRoutes } from './console.ts';

let dir: string;
let secret: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'warden-spa-'));
  await mkdir(path.join(dir, 'dist/assets'), { recursive: true });
  await writeFile(path.join(dir, 'dist/index.html'), '<!doctype html><title>studio</title>');
  const js = 'console.log("studio");'.repeat(100);
  await writeFile(path.join(dir, 'dist/assets/main-abc123.js'), js);
  await writeFile(path.join(dir, 'dist/assets/main-abc123.js.gz'), gzipSync(js));
  secret = path.join(dir, 'secret.txt');
  await writeFile(secret, 'not for the web');
  await symlink(secret, path.join(dir, 'dist/link.txt'));
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('single-page app serving', () => {
  const get = (p: string, headers: Record<string, string> = {}) => spaRoutes('/studio', path.join(dir, 'dist'), 'studio').request(`http://localhost${p}`, { headers });

  it('serves index.html for the app and its client routes, and redirects the bare mount', async () => {
    expect((await get('/studio')).status).toBe(301);
    for (const p of ['/studio/', '/studio/keys', '/studio/verification/new']) {
      const res = await get(p);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<title>studio</title>');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    }
  });

  it('caches hashed assets for a year and sends the gzip sibling to a browser that accepts it', async () => {
    const res = await get('/studio/assets/main-abc123.js', { 'accept-encoding': 'gzip, br;q=0' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/immutable/);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect((await get('/studio/assets/missing-000.js')).status).toBe(404);
  });

  it('never serves anything outside the build, and answers 503 without a build', async () => {
    for (const p of ['/studio/../secret.txt', '/studio/%2e%2e/secret.txt', '/studio/link.txt', '/studio/..%5csecret.txt']) {
      const res = await get(p);
      expect(res.status, p).not.toBe(200);
      expect(await res.text()).not.toContain('not for the web');
    }
    const watch = await spaRoutes('/studio', path.join(dir, 'dist'), 'watch page', WATCH_CSP).request('http://localhost/studio/');
    expect(watch.headers.get('content-security-policy')).toMatch(/connect-src 'self' http: https:/);
    const none = await spaRoutes('/watch', path.join(dir, 'nothing'), 'watch page').request('http://localhost/watch/');
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ error: { code: 'unavailable', message: expect.stringMatching(/watch page is not built/) } });
  });
});
