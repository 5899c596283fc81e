/**
 * `pnpm fuzz [count] [first-seed]`: compiles `count` (default 10000) random
 * programs on every available device and compares each with eager. Prints
 * progress, the seed and listing of every failure, and exits non-zero if any
 * failed. Re-run one with `pnpm fuzz 1 <seed>`.
 */
import { initWebGpu, type Device } from '@kiln/eager';
import { probeWebGpu } from '@kiln/gpu-runtime';
import { checkProgram } from './differential';

const count = Number(process.argv[2] ?? 10_000);
const first = Number(process.argv[3] ?? Math.floor(Math.random() * 2 ** 30));
const gpu = await probeWebGpu();
if (gpu.runtime) await initWebGpu();
else console.log(`webgpu skipped: ${gpu.reason}`);
const devices: Device[] = gpu.runtime ? ['cpu', 'webgpu'] : ['cpu'];
console.log(`fuzzing ${count} programs from seed ${first} on ${devices.join(' and ')}`);
let failures = 0;
const started = performance.now();
for (let i = 0; i < count; i++) {
  const seed = first + i;
  for (const device of devices) {
    const problem = await checkProgram(seed, device).catch((error: unknown) => `seed ${seed} on ${device}: ${String(error)}`);
    if (problem) {
      failures++;
      console.log(`\nFAIL ${problem}\n`);
    }
  }
  if ((i + 1) % 250 === 0 || i + 1 === count) {
    console.log(`${i + 1}/${count} programs, ${failures} failures, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
}
process.exit(failures > 0 ? 1 : 0);
