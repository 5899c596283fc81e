import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Dawn's native module is safest in child processes (not worker threads),
    // and lavapipe already uses both cores, so files run one at a time.
    reporters: ['default', './scripts/summary-reporter.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
