/**
 * Serves the built web apps (`npm run build:console`): the review console under /console, the performer studio
 * under /studio and the viewer watch page under /watch: static files
 * with their content types, `index.html` for client-side routes (/console/cases/<id>), hashed assets cached for
 * a year, index.html revalidated every time, precompressed `.br` / `.gz` siblings when the browser accepts
 * them, and a strict security header set (CSP, nosniff, same-origin referrer) on every answer.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';

/** Content Security Policy of the console: only its own scripts; frames, audio and images from the API. */
export const CONSOLE_CSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
/**
 * The watch page's policy: the console's, plus fetching HTTP-FLV from the ingest node that holds a broadcast,
 * which may be another origin (play URLs carry their one-time token; no credentials are sent).
 */
export const WATCH_CSP = `${CONSOLE_CSP}; connect-src 'self' http: https:`;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** Files Vite names with a content hash (safe to cache for a year). */
const HASHED = /^assets\//;
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface Found { file: string; size: number; mtimeMs: number }

/** The regular file at `rel` under `root`, or null; never anything outside `root` (symlinks included). */
async function findFile(root: string, rel: string): Promise<Found | null> {
  // normalise as an absolute URL path first so `..` can never climb above the root
  const safe = path.posix.normalize(`/${rel}`).slice(1);
  const file = path.join(root, ...safe.split('/'));
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  try {
    const real = await realpath(file);
    if (real !== root && !real.startsWith(root + path.sep)) return null;
    const st = await stat(real);
    return st.isFile() ? { file: real, size: st.size, mtimeMs: st.mtimeMs } : null;
  } catch {
    return null;
  }
}

/** Encodings the client accepts (`Accept-Encoding`), without those it refuses with `q=0`. */
function acceptedEncodings(header: string | undefined): Set<string> {
  const ok = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && !(q && Number(q.slice(2)) === 0)) ok.add(name);
  }
  return ok;
}

/** The best precompressed sibling the client accepts (`br`, then `gzip`). */
async function precompressed(c: Context, f: Found): Promise<{ found: Found; encoding: string } | null> {
  const accepted = acceptedEncodings(c.req.header('accept-encoding'));
  for (const [encoding, ext] of [['br', '.br'], ['gzip', '.gz']] as const) {
    if (!accepted.has(encoding)) continue;
    try {
      const st = await stat(f.file + ext);
      if (st.isFile()) return { found: { file: f.file + ext, size: st.size, mtimeMs: st.mtimeMs }, encoding };
    } catch { /* no such sibling */ }
  }
  return null;
}

async function sendFile(c: Context, f: Found, cacheControl: string, csp = CONSOLE_CSP): Promise<Response> {
  const type = CONTENT_TYPES[path.extname(f.file).toLowerCase()] ?? 'application/octet-stream';
  const compressible = /^(text\/|application\/(json|manifest)|image\/svg)/.test(type);
  const alt = compressible ? await precompressed(c, f) : null;
  const body = alt?.found ?? f;
  const etag = `"${body.size.toString(16)}-${Math.floor(body.mtimeMs).toString(16)}${alt ? `-${alt.encoding}` : ''}"`;
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'content-security-policy': csp, 'content-type': type, 'cache-control': cacheControl, etag };
  if (compressible) headers.vary = 'Accept-Encoding';
  if (alt) headers['content-encoding'] = alt.encoding;
  if (c.req.header('if-none-match')?.split(/\s*,\s*/).includes(etag)) return new Response(null, { status: 304, headers });
  headers['content-length'] = String(body.size);
  if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers });
  const stream = Readable.toWeb(createReadStream(body.file)) as ReadableStream<Uint8Array>;
  return new Response(stream, { status: 200, headers });
}

function unavailable(c: Context, what: string): Response {
  return c.json({ error: { code: 'unavailable', message: `the ${what} is not built: run npm run build:console` } }, 503, { ...SECURITY_HEADERS, 'cache-control': 'no-store' });
}

function notFound(c: Context, what: string, file: string): Response {
  return c.json({ error: { code: 'not_found', message: `no ${what} file ${file}` } }, 404, { ...SECURITY_HEADERS, 'cache-control': 'no-store' });
}

/**
 * A built single-page app's routes under `mount` (e.g. `/console`), with full paths: mount with
 * `app.route('/', spaRoutes(...))`.
 * - `GET <mount>` redirects to `<mount>/`.
 * - `GET <mount>/<file>` serves the file from `distDir` (hashed `assets/` for a year; others `no-cache`).
 * - `GET <mount>/<client route>` (no such file, no file extension) serves `index.html` (`no-cache`).
 * - A missing asset is a 404; a missing build is a 503 `unavailable` telling how to build it.
 * @param distDir the Vite output directory; read on every request, so a rebuild needs no restart.
 * @param what the app's name in error messages (`console`, `studio`, …).
 * @param csp its Content Security Policy (default {@link CONSOLE_CSP}).
 */
export function spaRoutes(mount: string, distDir: string, what: string, csp = CONSOLE_CSP): Hono {
  const root = path.resolve(distDir);
  const app = new Hono();

  const serve = async (c: Context) => {
    const base = await realpath(root).catch(() => null);
    const index = base && (await findFile(base, 'index.html'));
    if (!base || !index) return unavailable(c, what);
    const url = new URL(c.req.url);
    const rawPath = url.pathname; // c.req.path is already decoded: decode exactly once, here
    if (rawPath === mount) return new Response(null, { status: 301, headers: { ...SECURITY_HEADERS, location: `${mount}/${url.search}` } });
    let rel: string;
    try {
      rel = decodeURIComponent(rawPath.slice(`${mount}/`.length));
    } catch {
      return c.json({ error: { code: 'bad_request', message: 'malformed path' } }, 400, SECURITY_HEADERS);
    }
    if (rel.includes('\0') || rel.includes('\\')) return notFound(c, what, rawPath);
    if (rel === '' || rel === 'index.html') return sendFile(c, index, 'no-cache', csp);
    const f = await findFile(base, rel);
    if (f) return sendFile(c, f, HASHED.test(path.relative(base, f.file).split(path.sep).join('/')) ? IMMUTABLE : 'no-cache', csp);
    // a client-side route (no extension) gets the app; a missing file (a stale asset name) is a plain 404
    if (/\.[a-z0-9]+$/i.test(rel) || rel.startsWith('assets/')) return notFound(c, what, rawPath);
    return sendFile(c, index, 'no-cache', csp);
  };

  app.get(mount, serve);
  app.get(`${mount}/*`, serve);
  return app;
}

/** The review console's routes (`/console`, `/console/*`) from its build (review-console/dist). */
export function consoleRoutes(distDir: string): Hono {
  return spaRoutes('/console', distDir, 'console');
}
