/**
 * `pnpm demo:train [--device cpu|webgpu] [--steps 200]`: trains the
 * character transformer for `steps` steps eagerly and with the whole step
 * compiled, from the same seed, on each device asked for (default: cpu,
 * and webgpu where there is one); prints the losses' largest difference
 * and the median step times, writes the loss curves as an SVG chart to
 * examples/train/out/, and exits non-zero if the curves differ by more
 * than the tolerance below.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Device, initWebGpu } from '@kiln/eager';
import { probeWebGpu } from '@kiln/gpu-runtime';
import { lossChartSvg } from './loss-chart';
import { LOSS_RTOL, SIZES, train } from './train';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const steps = Number(option('steps') ?? 200);
const asked = option('device');
const gpu = asked === 'cpu' ? undefined : await probeWebGpu();
if (gpu?.runtime) await initWebGpu();
else if (asked === 'webgpu') throw new Error(`--device webgpu: no WebGPU here (${gpu?.reason})`);
const devices: Device[] = asked ? [asked as Device] : gpu?.runtime ? ['cpu', 'webgpu'] : ['cpu'];
const out = new URL('../out/', import.meta.url);
mkdirSync(out, { recursive: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
let failed = false;
for (const device of devices) {
  const curves: Record<'eager' | 'compiled', number[]> = { eager: [], compiled: [] };
  const ms: Record<'eager' | 'compiled', number[]> = { eager: [], compiled: [] };
  for (const mode of ['eager', 'compiled'] as const) {
    let t = performance.now();
    curves[mode] = await train({
      device,
      steps,
      compiled: mode === 'compiled',
      onStep: () => {
        ms[mode].push(performance.now() - t);
        t = performance.now();
      },
    });
  }
  const worst = Math.max(...curves.eager.map((e, i) => Math.abs(curves.compiled[i]! - e) / Math.abs(e)));
  // The first steps (compiling, the optimizer's state made) are not the steady step.
  const [e, c] = [median(ms.eager.slice(3)), median(ms.compiled.slice(3))];
  console.log(
    `${device}: ${steps} steps, loss ${curves.eager[0]!.toFixed(3)} -> ${curves.eager.at(-1)!.toFixed(3)} (eager), ` +
      `${curves.compiled.at(-1)!.toFixed(3)} (compiled); largest relative difference ${worst.toExponential(2)} (tolerance ${LOSS_RTOL}); ` +
      `median step ${e.toFixed(1)} ms eager, ${c.toFixed(1)} ms compiled (${(e / c).toFixed(2)}x)`,
  );
  if (!(worst <= LOSS_RTOL)) failed = true;
  const title = `char transformer (${SIZES.layers} layers, width ${SIZES.width}) on ${device}: eager vs compiled`;
  const file = new URL(`loss-${device}.svg`, out);
  writeFileSync(
    file,
    lossChartSvg(title, [
      { label: 'kiln eager', color: '#2f6fdd', values: curves.eager },
      { label: 'kiln compiled (whole step)', color: '#e0662b', values: curves.compiled, dashed: true },
    ]),
  );
  console.log(`  loss curves: ${file.pathname}`);
}
process.exit(failed ? 1 : 0);
