/**
 * What `pnpm bench` leaves behind: the tables it prints (markdown, so they
 * paste into the README), a JSON file with every figure, and an SVG chart of
 * the speedups, all in benchmarks/results/.
 */

import { cpus, loadavg, type as osType, release, totalmem } from 'node:os';
import type { Device } from '@kiln/eager';
import type { AdapterDescription } from '@kiln/gpu-runtime';
import type { DeviceFloors } from '../device.bench';
import type { BenchOptions } from './options';
import { PEERS_OF, type PeerSummary } from './peer';
import { type Column, cellMs, type RowResult } from './run-row';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the run started: other work on a shared machine shows here. */
  loadAverageAtStart: number;
}

export interface BenchReport {
  date: string;
  command: string;
  options: BenchOptions;
  durationS: number;
  machine: MachineInfo;
  webgpu: { adapter: AdapterDescription; features: string[] } | { missing: string };
  /** The cpu kernels (wasm or js), the threads they run on, and whether the gemm's multiply-add is relaxed SIMD's. */
  cpu: { kernels: 'wasm' | 'js'; threads: number; relaxedMadd: boolean };
  /** Set when the webgpu rows ran inside a browser (`--browser`): which one. */
  browser?: string;
  /** How the compiled column was produced. */
  compiler: string;
  peers: PeerSummary;
  floors?: DeviceFloors;
  /** How completion is forced in each timed call. */
  timing: string;
  rows: (RowResult & { ratios: Partial<Record<Column, number>> })[];
  failures: string[];
}

export const TIMING_NOTE =
  'each timed call forces completion by reading ONE element of the result back (like torch.cuda.synchronize); ' +
  'the cost of reading a whole result is the readback bandwidth in the device floors (benchmarks/device.bench.ts)';

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cpuCount: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** compiled / X for each other measured column (below 1: compiled is faster). */
export function ratios(row: RowResult): Partial<Record<Column, number>> {
  const compiled = cellMs(row.cells.compiled);
  const out: Partial<Record<Column, number>> = {};
  if (compiled === undefined) return out;
  for (const [column, cell] of Object.entries(row.cells) as [Column, RowResult['cells'][Column]][]) {
    const ms = cellMs(cell);
    if (column !== 'compiled' && ms !== undefined) out[column] = compiled / ms;
  }
  return out;
}

const COMPARED: Record<Device, Column[]> = { webgpu: ['eager', ...PEERS_OF.webgpu, 'hand'], cpu: ['eager', ...PEERS_OF.cpu] };
const TIMED: Record<Device, Column[]> = {
  webgpu: ['eager', 'compiled', ...PEERS_OF.webgpu, 'hand'],
  cpu: ['eager', 'compiled', ...PEERS_OF.cpu],
};

const ms = (v: number | undefined) => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const speedup = (x: number) => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2));
const ratio = (r: number | undefined) => (r === undefined ? '—' : `${r.toFixed(2)} (${speedup(1 / r)}×)`);

/** One markdown table per device, and the notes that explain missing cells. */
export function renderTables(report: BenchReport): string {
  const out: string[] = [];
  for (const device of ['webgpu', 'cpu'] as Device[]) {
    const rows = report.rows.filter((r) => r.device === device);
    if (device === 'webgpu' && 'missing' in report.webgpu) out.push(`### webgpu: not run (${report.webgpu.missing})`, '');
    if (rows.length === 0) continue;
    const timed = TIMED[device];
    const compared = COMPARED[device];
    const header = ['workload', 'size', ...timed.map((c) => `${c} ms`), ...compared.map((c) => `compiled/${c}`)];
    header.splice(4, 0, 'first call ms'); // after compiled
    const lines = [header, header.map(() => '---')];
    const notes = new Map<string, string[]>();
    for (const row of rows) {
      const cells = timed.map((c) => {
        const cell = row.cells[c];
        if (cell && 'missing' in cell) {
          const key = `${c}: ${cell.missing}`;
          notes.set(key, [...(notes.get(key) ?? []), row.id]);
          return c === 'compiled' && row.failure ? '**FAILED**' : 'n/a';
        }
        if (cell && 'note' in cell && cell.note) notes.set(`${c} ${row.id}: ${cell.note}`, []);
        return ms(cellMs(cell));
      });
      const line = [`${row.id} ${row.title}`, row.size, ...cells, ...compared.map((c) => ratio(row.ratios[c]))];
      line.splice(4, 0, ms(row.firstCallMs));
      lines.push(line);
    }
    for (const row of rows) {
      if (row.capture?.fallbacks.length)
        notes.set(
          `compiled ${row.id}: ${row.capture.fallbacks.length} graph(s) ran op by op (backend could not compile: ${row.capture.fallbacks.join('; ')})`,
          [],
        );
    }
    const captured = rows
      .filter((r) => r.capture)
      .map(
        (r) =>
          `${r.id} ${r.capture!.kernels} (${r.capture!.ops} ops, ${r.capture!.graphs} graph${r.capture!.graphs === 1 ? '' : 's'}, ${r.capture!.mode})`,
      );
    if (captured.length > 0) notes.set(`compiled kernels per call: ${captured.join('; ')}`, []);
    for (const reason of new Set(rows.flatMap((r) => (r.capture ? [`${r.capture.mode}: ${r.capture.modeReason}`] : [])))) {
      const ids = rows.filter((r) => r.capture && `${r.capture.mode}: ${r.capture.modeReason}` === reason).map((r) => r.id);
      notes.set(`tracer mode ${ids.join(', ')}: ${reason}`, []);
    }
    const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
    const where = device === 'webgpu' && report.browser ? ` in ${report.browser}` : '';
    const what =
      device === 'webgpu'
        ? 'adapter' in report.webgpu
          ? ` (${describeAdapter(report.webgpu.adapter)})`
          : ''
        : ` (${describeCpu(report.cpu)})`;
    out.push(`### ${device}${where}${what}`, '');
    for (const l of lines) out.push(`| ${l.map((c, i) => (l[0] === '---' ? '-'.repeat(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`);
    if (notes.size > 0) {
      out.push('');
      for (const [note, ids] of notes) out.push(ids.length > 0 ? `- n/a ${ids.join(', ')}: ${note}` : `- ${note}`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function describeCpu(cpu: BenchReport['cpu']): string {
  if (cpu.kernels === 'js') return 'JS kernels, one thread';
  const threads = cpu.threads === 1 ? 'one thread' : `${cpu.threads} threads`;
  return `wasm SIMD kernels, ${threads}, gemm ${cpu.relaxedMadd ? 'with' : 'without'} relaxed SIMD multiply-add`;
}

export function describeAdapter(a: AdapterDescription): string {
  const name = [a.description, a.device].find((s) => s);
  const maker = [a.vendor, a.architecture].filter((s) => s).join(' ');
  return [name, maker, a.isSoftware ? 'software' : ''].filter((s) => s).join(', ') || 'unknown adapter';
}

export const LEGEND = [
  'Columns: median wall time per call in ms (tinybench; min/max and sample counts in the JSON).',
  '  eager: kiln eager, one kernel per op. compiled: compile(fn) from @kiln/tracer, warm (cached entry).',
  "  first call ms: the compiled function's first call (trace + compile + run, to completion).",
  "  tfjs-*: TensorFlow.js on the same device (tfjs-webgpu on kiln's own GPUDevice: Dawn's in Node, the browser's with --browser).",
  "  jax-js-*: jax-js's jit (its wasm backend, one thread in Node; its webgpu backend, on a GPUDevice of its own from the same adapter);",
  '    a timed call waits with blockUntilReady(), which reads zero bytes of the result back after the work.',
  '  hand: a hand-written WGSL kernel (W1, W2) or tuned matmul (W5): how close to the limit.',
  '  compiled/X: ratio of medians; below 1 compiled is faster, and (N×) is the speedup X/compiled.',
  `Timing: ${TIMING_NOTE}.`,
  'Every compiled result is checked against kiln eager on the same device before it is timed (rtol 1e-4, atol 1e-5); peers with a looser stated tolerance (JSON).',
].join('\n');

// --- chart -----------------------------------------------------------------

const COLORS: Record<string, string> = {
  eager: '#4c78a8',
  'tfjs-webgpu': '#f58518',
  'tfjs-cpu': '#f58518',
  'tfjs-wasm': '#e45756',
  'jax-js-webgpu': '#b279a2',
  'jax-js-wasm': '#b279a2',
  hand: '#54a24b',
};

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Horizontal bars on a log axis: for each row, X / compiled for each other
 * column X (above 1: compiled is that many times faster than X; the hand
 * kernel bar is below 1 when compiled is slower than the hand kernel).
 */
export function renderSvg(report: BenchReport): string {
  const width = 960;
  const left = 230;
  const right = 110; // room for the label of the longest bar
  const barH = 14;
  const speedups = report.rows.flatMap((r) => Object.values(r.ratios).map((v) => 1 / v!));
  const lo = Math.min(0.1, ...speedups) / 1.3;
  const hi = Math.max(10, ...speedups) * 1.5;
  const x = (v: number) =>
    left + ((Math.log10(Math.min(Math.max(v, lo), hi)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (width - left - right);
  const parts: string[] = [];
  let y = 70;
  for (const device of ['webgpu', 'cpu'] as Device[]) {
    const rows = report.rows.filter((r) => r.device === device);
    if (rows.length === 0) continue;
    parts.push(`<text x="20" y="${y}" font-size="15" font-weight="bold">${device}</text>`);
    y += 12;
    const top = y;
    for (const row of rows) {
      const bars = COMPARED[device].filter((c) => row.ratios[c] !== undefined);
      const h = Math.max(1, bars.length) * (barH + 3) + 10;
      parts.push(`<text x="20" y="${y + h / 2}" font-size="12" dominant-baseline="middle">${escapeHtml(`${row.id} ${row.title}`)}</text>`);
      parts.push(`<text x="20" y="${y + h / 2 + 13}" font-size="10" fill="#666" dominant-baseline="middle">${escapeHtml(row.size)}</text>`);
      if (bars.length === 0) {
        parts.push(
          `<text x="${left + 6}" y="${y + h / 2}" font-size="11" fill="#b00" dominant-baseline="middle">${escapeHtml(row.failure ? 'compiled FAILED (see report)' : 'no compiled figure')}</text>`,
        );
      }
      bars.forEach((c, i) => {
        const speedup = 1 / row.ratios[c]!;
        const by = y + 5 + i * (barH + 3);
        const x0 = x(1);
        const x1 = x(speedup);
        parts.push(
          `<rect x="${Math.min(x0, x1)}" y="${by}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${barH}" fill="${COLORS[c]}"/>`,
        );
        const label = `${speedup >= 10 ? speedup.toFixed(0) : speedup.toFixed(2)}× vs ${c}`;
        const tx = speedup >= 1 ? x1 + 4 : x1 - 4;
        parts.push(
          `<text x="${tx}" y="${by + barH / 2}" font-size="10" dominant-baseline="middle" text-anchor="${speedup >= 1 ? 'start' : 'end'}">${escapeHtml(label)}</text>`,
        );
      });
      y += h;
      parts.push(`<line x1="20" x2="${width - right}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    }
    // axis: decades, and the line at 1 (as fast as the other column)
    for (let d = Math.ceil(Math.log10(lo)); 10 ** d <= hi; d++) {
      const v = 10 ** d;
      parts.push(
        `<line x1="${x(v)}" x2="${x(v)}" y1="${top}" y2="${y}" stroke="${v === 1 ? '#333' : '#ccc'}" stroke-dasharray="${v === 1 ? '' : '3,3'}"/>`,
      );
      parts.push(`<text x="${x(v)}" y="${y + 14}" font-size="10" text-anchor="middle">${v}×</text>`);
    }
    y += 44;
  }
  const legend = Object.entries({
    eager: 'vs kiln eager',
    'tfjs-webgpu': 'vs tfjs (webgpu / cpu)',
    'tfjs-wasm': 'vs tfjs-wasm',
    'jax-js-webgpu': 'vs jax-js (webgpu / wasm)',
    hand: 'vs hand kernel',
  })
    .map(
      ([c, label], i) =>
        `<rect x="${20 + i * 185}" y="34" width="12" height="12" fill="${COLORS[c]}"/><text x="${20 + i * 185 + 16}" y="44" font-size="11">${label}</text>`,
    )
    .join('');
  const title = `kiln compiled vs each column: X time / compiled time (right of 1: compiled is faster) — ${report.date.slice(0, 10)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="22" font-size="14" font-weight="bold">${escapeHtml(title)}</text>`,
    legend,
    ...parts,
    '</svg>',
  ].join('\n');
}
