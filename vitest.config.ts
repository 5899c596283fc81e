import { defineConfig } from 'vitest/config';

// Relaxed SIMD (the cpu gemm's fused multiply-add) is on by default from Node 22; Node 20 needs the flag.
const nodeMajor = Number(process.versions.node.split('.')[0]);

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Dawn's native module is safest in child processes (not worker threads),
    // and lavapipe already uses both cores, so files run one at a time.
    reporters: ['default', './scripts/summary-reporter.ts'],
    pool: 'forks',
    execArgv: nodeMajor < 22 ? ['--experimental-wasm-relaxed-simd'] : [],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
