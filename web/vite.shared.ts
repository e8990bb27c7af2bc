/**
 * The Vite configuration the web apps share (web/studio at /studio/, web/watch at /watch/): React, a
 * modern target, the build into `<app>/dist` (or WEB_OUT_DIR, used by scripts/build-console.sh), and in
 * development /api, /chat and /flv proxied to a running `warden serve` (WARDEN_API, default :8080).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The config of the app whose directory is `appDir` (a file URL), served under `base` (e.g. `/studio/`). */
export function webApp(appDir: string, base: string): UserConfig {
  const root = fileURLToPath(new URL('.', appDir));
  const api = process.env.WARDEN_API ?? 'http://127.0.0.1:8080';
  return defineConfig({
    root,
    base,
    plugins: [react()],
    build: {
      outDir: process.env.WEB_OUT_DIR ?? 'dist',
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 1600,
    },
    server: {
      fs: { allow: [fileURLToPath(new URL('..', appDir))] },
      proxy: { '/api': { target: api }, '/chat': { target: api, ws: true }, '/flv': { target: api } },
    },
  });
}
