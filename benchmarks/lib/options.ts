/** Command-line options of `pnpm bench`. */
import type { Device } from '@kiln/eager';

export interface BenchOptions {
  /** Smaller sizes and fewer iterations (the whole run in a few minutes). */
  quick: boolean;
  /** Workload ids to run ('W1' ...); all when empty. */
  only: string[];
  /** Devices to run; both by default. */
  devices: Device[];
  /** Skip the device floors section. */
  noFloors: boolean;
  /** Run the workloads inside headless Chromium, on its WebGPU (benchmarks/browser.ts). */
  browser: boolean;
}

export const USAGE = `usage: pnpm bench [--quick] [--only W2,W6] [--device cpu|webgpu] [--no-floors] [--browser]
  --quick       smaller sizes and fewer iterations (a few minutes)
  --only LIST   run only these workloads (W1..W9, comma-separated; W8: training steps)
  --device D    run only the cpu or only the webgpu columns
  --no-floors   skip measuring the device floors (dispatch cost, bandwidth)
  --browser     run the webgpu columns inside headless Chromium (its WebGPU, not Node's Dawn)`;

export function parseOptions(argv: readonly string[], known: readonly string[]): BenchOptions {
  const options: BenchOptions = { quick: false, only: [], devices: ['webgpu', 'cpu'], noFloors: false, browser: false };
  const args = [...argv];
  const value = (flag: string, inline: string | undefined): string => {
    const v = inline ?? args.shift();
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    if (arg === '--') continue; // pnpm passes it through on some versions
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    switch (flag) {
      case '--quick':
        options.quick = true;
        break;
      case '--no-floors':
        options.noFloors = true;
        break;
      case '--browser':
        options.browser = true;
        break;
      case '--only': {
        options.only = value(flag, inline)
          .split(',')
          .map((s) => s.trim().toUpperCase())
          .filter(Boolean);
        const unknown = options.only.filter((id) => !known.includes(id));
        if (unknown.length > 0) throw new Error(`unknown workload ${unknown.join(', ')} (known: ${known.join(', ')})`);
        break;
      }
      case '--device': {
        const d = value(flag, inline);
        if (d !== 'cpu' && d !== 'webgpu') throw new Error(`--device takes cpu or webgpu, got '${d}'`);
        options.devices = [d];
        break;
      }
      case '--help':
      case '-h':
        console.log(USAGE);
        return process.exit(0);
      default:
        throw new Error(`unknown option '${arg}'\n${USAGE}`);
    }
  }
  if (options.browser) {
    if (!options.devices.includes('webgpu'))
      throw new Error(`--browser runs the webgpu columns; it cannot be combined with --device cpu\n${USAGE}`);
    options.devices = ['webgpu'];
  }
  return options;
}
