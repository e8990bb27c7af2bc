import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,db,ingest,analyzer,rules,moderation,api,bin,tests}/**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**', 'scratch/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration and end-to-end files share ports, ffmpeg and CPU; two at a time suits this 2-core machine.
    maxWorkers: 2,
  },
});
