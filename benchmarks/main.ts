/**
 * `pnpm bench`: kiln's main job, the A/B speed report. For each workload
 * (benchmarks/workloads/) and device it times kiln eager, kiln compiled
 * (`compile` from @kiln/tracer), TensorFlow.js and jax-js's `jit` (the
 * peers, lib/peer.ts) on the same device, plus hand-written WGSL references
 * on webgpu; checks every result against kiln eager first; then W8,
 * training steps of W4 and W6 (lib/train-row.ts; not in the browser);
 * prints a table and writes JSON and an SVG chart to benchmarks/results/.
 * The device floors (device.bench.ts) come first.
 *
 *   pnpm bench [--quick] [--only W2,W6] [--device cpu|webgpu] [--no-floors] [--browser]
 *
 * With --browser the webgpu rows run inside headless Chromium on its WebGPU
 * (lib/in-browser.ts), and the tables are printed the same way.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Device, initWebGpu } from '@kiln/eager';
import { cpuKernelKind, poolThreads, relaxedMaddAvailable } from '@kiln/eager/kernels';
import { rerunWithV8Flags } from '@kiln/eager/testing/v8-flags';
import { type GpuRuntime, probeWebGpu } from '@kiln/gpu-runtime';
import { type DeviceFloors, measureDeviceFloors, printDeviceFloors } from './device.bench';
import { compiler } from './lib/compiled';
import { type BrowserRun, runInBrowser } from './lib/in-browser';
import { type BenchOptions, parseOptions } from './lib/options';
import { describePeers, loadPeers, PEERS_OF, peerSummary, reason } from './lib/peer';
import { type BenchReport, describeAdapter, LEGEND, machineInfo, ratios, renderSvg, renderTables, TIMING_NOTE } from './lib/report';
import { type RowContext, type RowResult, runRow } from './lib/run-row';
import { registerTfjsGradients } from './lib/tfjs';
import { FULL, QUICK } from './lib/timing';
import { runTrainingRow } from './lib/train-row';
import { TRAINED, WORKLOADS } from './workloads';

rerunWithV8Flags(); // iterator helpers (jax-js) and relaxed SIMD (kiln's cpu gemm): Node 20 has them behind flags

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');
const started = performance.now();
const date = new Date().toISOString();

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2), [...WORKLOADS.map((w) => w.id), 'W8']);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}
const workloads = options.only.length > 0 ? WORKLOADS.filter((w) => options.only.includes(w.id)) : WORKLOADS;
const training = options.only.length === 0 || options.only.includes('W8');
const machine = machineInfo();
console.log(`kiln bench${options.quick ? ' --quick' : ''}${options.browser ? ' --browser' : ''} — ${date}`);
console.log(
  `machine: ${machine.cpuCount} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, load average ${machine.loadAverageAtStart} at start`,
);

// --- in the browser ------------------------------------------------------------
let inBrowser: BrowserRun | undefined;
if (options.browser) inBrowser = await benchInBrowser();

// --- the device -------------------------------------------------------------
let rt: GpuRuntime | undefined;
let webgpuMissing: string | undefined;
if (options.browser) {
  webgpuMissing = inBrowser?.adapter ? undefined : 'the browser has no WebGPU adapter';
} else if (options.devices.includes('webgpu')) {
  const gpu = await probeWebGpu();
  if (gpu.runtime) rt = await initWebGpu();
  else webgpuMissing = gpu.reason;
} else {
  webgpuMissing = 'not requested (--device cpu)';
}
const devices: Device[] = options.browser ? [] : options.devices.filter((d) => d === 'cpu' || rt !== undefined);
if (rt) {
  console.log(`webgpu: ${describeAdapter(rt.adapterInfo)}; features: ${[...rt.features].join(', ') || 'none'}`);
} else if (!options.browser) {
  console.log(
    `webgpu columns missing: ${webgpuMissing?.replace(/\.$/, '')}${options.devices.includes('cpu') ? '; running the cpu columns only' : ''}`,
  );
}

let floors: DeviceFloors | undefined;
if (rt && !options.noFloors) {
  console.log('\n## Device floors (webgpu)\nmeasuring dispatch cost, readback, bandwidth...');
  floors = await measureDeviceFloors(rt);
  printDeviceFloors(floors);
}

// --- what is compared -------------------------------------------------------
if (!options.browser) console.log(`\ncompiled column: ${compiler.via}`);
const peers = await loadPeers(
  devices.flatMap((d) => PEERS_OF[d]),
  rt,
);
if (training && peers.tfjs) {
  // Without them W8's tfjs cells say what failed; the rest runs.
  await registerTfjsGradients().catch((error: unknown) => console.log(`TensorFlow.js gradients not registered: ${reason(error)}`));
}
if (devices.length > 0) console.log(`peers: ${describePeers(peerSummary(peers))}`);

// --- the rows -----------------------------------------------------------------
const policy = options.quick ? QUICK : FULL;
if (!options.browser) console.log(`\n## Workloads (${options.quick ? 'quick sizes' : 'full sizes'}; ${TIMING_NOTE})`);
const rows: RowResult[] = [...(inBrowser?.rows ?? [])];
const context: RowContext = {
  quick: options.quick,
  policy,
  compiler,
  rt,
  peers,
  progress: (text) => process.stdout.write(text),
};
for (const device of devices) {
  for (const workload of workloads) rows.push(await runRow(workload, device, context));
  if (training) for (const workload of TRAINED) rows.push(await runTrainingRow(workload, device, context));
}

// --- the report ---------------------------------------------------------------
const failures = rows.filter((r) => r.failure).map((r) => `${r.id} ${r.title} on ${r.device}: ${r.failure}`);
const report: BenchReport = {
  date,
  command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
  options,
  durationS: Math.round((performance.now() - started) / 100) / 10,
  machine,
  webgpu: inBrowser?.adapter
    ? { adapter: inBrowser.adapter, features: inBrowser.features ?? [] }
    : rt
      ? { adapter: rt.adapterInfo, features: [...rt.features] }
      : { missing: webgpuMissing ?? 'unknown' },
  ...(inBrowser ? { browser: inBrowser.browser } : {}),
  cpu: { kernels: cpuKernelKind(), threads: poolThreads(), relaxedMadd: relaxedMaddAvailable() },
  compiler: compiler.via,
  peers: inBrowser ? inBrowser.peers : peerSummary(peers),
  ...(floors ? { floors } : {}),
  timing: TIMING_NOTE,
  rows: rows.map((r) => ({ ...r, ratios: ratios(r) })),
  failures,
};

console.log(
  `\n## Results — ${date.slice(0, 10)}, ${machine.cpuCount} × ${machine.cpuModel} (shared machine: other work may run alongside)\n`,
);
console.log(renderTables(report));
console.log(LEGEND);

mkdirSync(RESULTS, { recursive: true });
const stamp = date.replace(/[:.]/g, '-').slice(0, 19);
const base = join(RESULTS, `bench-${stamp}${options.quick ? '-quick' : ''}${options.browser ? '-browser' : ''}`);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`${base}.md`, `${renderTables(report)}\n${LEGEND}\n`);
const svg = renderSvg(report);
writeFileSync(`${base}.svg`, svg);
const latest = options.browser ? 'latest-browser' : 'latest';
for (const name of [`${latest}.json`, `${latest}.svg`])
  writeFileSync(join(RESULTS, name), name.endsWith('json') ? `${JSON.stringify(report, null, 2)}\n` : svg);
const written = [`${base}.json`, `${base}.md`, `${base}.svg`];
const png = toPng(`${base}.svg`);
if (png) written.push(png);
console.log(`\nwritten: ${written.map((f) => relative(process.cwd(), f)).join(', ')} (and results/${latest}.json, ${latest}.svg)`);
console.log(`took ${report.durationS.toFixed(0)} s`);

if (failures.length > 0) {
  console.error(`\n${'!'.repeat(72)}\nBENCH FAILED: kiln is wrong or crashed on ${failures.length} row(s):`);
  for (const f of failures) console.error(`  - ${f}`);
  console.error('!'.repeat(72));
  process.exit(1);
}
process.exit(0);

/** The webgpu rows in headless Chromium; a page that cannot run fails the bench with the reason. */
async function benchInBrowser(): Promise<BrowserRun> {
  try {
    const run = await runInBrowser(options, (text) => process.stdout.write(text));
    const adapter = run.adapter ? `${describeAdapter(run.adapter)}; features: ${run.features?.join(', ') || 'none'}` : 'no WebGPU adapter';
    console.log(`\nbrowser: ${run.browser}; webgpu: ${adapter}; peers: ${describePeers(run.peers)}`);
    return run;
  } catch (error) {
    console.error(`\nBENCH FAILED: --browser: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

/** A PNG of the chart where rsvg-convert or ImageMagick is installed; never required. */
function toPng(svgPath: string): string | undefined {
  const pngPath = svgPath.replace(/\.svg$/, '.png');
  for (const [cmd, args] of [
    ['rsvg-convert', ['-o', pngPath, svgPath]],
    ['convert', [svgPath, pngPath]],
  ] as const) {
    try {
      execFileSync(cmd, [...args], { stdio: 'ignore', timeout: 30_000 });
      return pngPath;
    } catch {
      // not installed or failed: the SVG is the chart
    }
  }
  return undefined;
}
