/**
 * Vite build of the review console: a react-admin SPA served by the API under /console (see api/console.ts).
 * `npm run build:console` builds it into review-console/dist; `npx vite --config review-console/vite.config.ts`
 * serves it in development with /api proxied to a running `warden serve` (WARDEN_API, default :8080).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: process.env.CONSOLE_OUT_DIR ?? 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1600,
  },
  server: {
    proxy: { '/api': { target: process.env.WARDEN_API ?? 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
