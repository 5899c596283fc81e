/**
 * Eager speed (issue 3): per-op overhead of a tiny op on each device, an
 * elementwise op on 4M floats against the device's copy bandwidth, softmax
 * 1024x1024, and matmul 512 / 1024 in GFLOP/s. Each timed call forces
 * completion by reading one element back. Run: pnpm bench:eager
 */
import { type Device, F, initWebGpu, matmul, randn, type Tensor } from '@kiln/eager';
import { probeWebGpu } from '@kiln/gpu-runtime';
import { measure } from './lib/measure';
import { step } from './lib/sync';

const gpu = await probeWebGpu();
if (gpu.runtime) await initWebGpu();
const devices: Device[] = gpu.runtime ? ['cpu', 'webgpu'] : ['cpu'];
if (!gpu.runtime) console.log(`webgpu column missing: ${gpu.reason}`);

const rows: Record<string, Record<Device, string>> = {};
const put = (name: string, device: Device, value: string) => ((rows[name] ??= { cpu: '', webgpu: '' })[device] = value);

for (const device of devices) {
  const tiny = randn([64], { device });
  // Per-op overhead: 100 tiny adds then one sync, minus one add then a sync.
  const one = await measure(
    'one op',
    step(() => tiny.add(1)),
  );
  const hundred = await measure(
    '100 ops',
    step(() => {
      let y: Tensor = tiny;
      for (let i = 0; i < 100; i++) y = y.add(1);
      return y;
    }),
  );
  put('per-op overhead, [64] add (µs)', device, (((hundred.medianMs - one.medianMs) / 99) * 1000).toFixed(1));

  const x = randn([4 << 20], { device });
  const ew = await measure(
    'mul 4M',
    step(() => x.mul(1.5)),
    { iterations: 10 },
  );
  put('x.mul(1.5), 4M floats (ms)', device, ew.medianMs.toFixed(2));
  put('  effective GB/s (read + write)', device, ((8 * (4 << 20)) / 1e9 / (ew.medianMs / 1e3)).toFixed(2));

  const s = randn([1024, 1024], { device });
  const sm = await measure(
    'softmax',
    step(() => F.softmax(s, -1)),
    { iterations: 10 },
  );
  put('softmax 1024x1024 (ms)', device, sm.medianMs.toFixed(2));

  for (const n of [512, 1024]) {
    const a = randn([n, n], { device });
    const b = randn([n, n], { device });
    const mm = await measure(
      `matmul ${n}`,
      step(() => matmul(a, b)),
      { iterations: 5, timeMs: 2000 },
    );
    put(`matmul ${n} (GFLOP/s)`, device, ((2 * n ** 3) / 1e9 / (mm.medianMs / 1e3)).toFixed(2));
  }
}
console.table(rows);
process.exit(0);
