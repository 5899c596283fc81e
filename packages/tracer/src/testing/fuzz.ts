/**
 * `pnpm fuzz [count] [first-seed]`: checks `count` (default 10000) random
 * programs (./random-program) on every available device: compiled == eager
 * (first and cached call, gradients included) and webgpu == cpu. Prints
 * progress, each failure with its seed, listing and shrunk listing, a
 * summary of what the programs covered, and exits non-zero if any failed.
 * Re-run one with `pnpm fuzz 1 <seed>`.
 */
import { type Device, initWebGpu } from '@kiln/eager';
import { cpuKernelKind, relaxedMaddAvailable } from '@kiln/eager/kernels';
import { rerunWithV8Flags } from '@kiln/eager/testing/v8-flags';
import { probeWebGpu } from '@kiln/gpu-runtime';
import { checkSeed } from './differential';
import { randomProgram } from './random-program';

rerunWithV8Flags();
const count = Number(process.argv[2] ?? 10_000);
const first = Number(process.argv[3] ?? Math.floor(Math.random() * 2 ** 30));
const gpu = await probeWebGpu();
if (gpu.runtime) await initWebGpu();
else console.log(`webgpu skipped: ${gpu.reason}`);
const devices: Device[] = gpu.runtime ? ['cpu', 'webgpu'] : ['cpu'];
console.log(
  `fuzzing ${count} programs from seed ${first} on ${devices.join(' and ')} (cpu kernels: ${cpuKernelKind()}${relaxedMaddAvailable() ? ', gemm with relaxed SIMD multiply-add' : ''})`,
);

const seen = { steps: 0, breaks: 0, inPlace: 0, matmuls: 0, views: 0, special: 0, grads: 0 };
let failures = 0;
const started = performance.now();
for (let i = 0; i < count; i++) {
  const seed = first + i;
  const program = randomProgram(seed);
  seen.steps += program.steps.length;
  seen.breaks += program.steps.filter((s) => s.breaks).length;
  seen.inPlace += program.steps.filter((s) => s.inPlace !== undefined).length;
  seen.matmuls += program.steps.filter((s) => s.matmul).length;
  seen.views += program.inputs.filter((x) => x.layout !== 'contiguous').length;
  seen.special += program.inputs.filter((x) => ['special', 'extreme', 'tiny'].includes(x.values)).length;
  seen.grads += program.inputs.filter((x) => x.grad).length;
  const failure = await checkSeed(seed, devices).catch((error: unknown) => `program ${seed}: ${String(error)}`);
  if (failure) {
    failures++;
    console.log(`\nFAIL ${failure}\n`);
  }
  if ((i + 1) % 250 === 0 || i + 1 === count) {
    console.log(`${i + 1}/${count} programs, ${failures} failures, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
}
console.log(
  `covered: ${seen.steps} steps, ${seen.matmuls} matmuls, ${seen.inPlace} in-place writes, ${seen.breaks} graph breaks, ` +
    `${seen.views} inputs passed as views, ${seen.special} inputs with special or extreme values, ${seen.grads} inputs requiring grad`,
);
process.exit(failures > 0 ? 1 : 0);
