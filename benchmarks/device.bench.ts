/**
 * What the WebGPU device costs before any kernel of ours runs: per-dispatch
 * overhead, a small readback round trip, upload/readback/copy bandwidth, and
 * what the readback waiter saves. These are the floors the eager and compiled
 * paths are judged against. Run: pnpm bench:device
 */

import { pathToFileURL } from 'node:url';
import { type GpuRuntime, getRuntime } from '@kiln/gpu-runtime';
import { measure } from './lib/measure';

const TINY = `
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main() { out[0] = out[0] + 1u; }`;
// vec4 copy with a grid-stride loop: the shape found fastest here (README, "Device floors measured here").
const COPY = `
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let stride = n.x * 256u;
  for (var i = g.x; i < arrayLength(&dst); i += stride) { dst[i] = src[i]; }
}`;
const SPIN = `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var acc = f32(g.x);
  for (var i = 0u; i < 2000u; i++) { acc = fma(acc, 0.999, 0.5); }
  out[g.x] = acc;
}`;

export interface DeviceFloors {
  dispatchUs: number;
  roundTripMs: number;
  uploadGBps: number;
  readbackGBps: number;
  copyGBps: number;
  longReadbackMapAtOnceMs: number;
  longReadbackLearnedWaitMs: number;
}

export async function measureDeviceFloors(rt: GpuRuntime): Promise<DeviceFloors> {
  const counter = rt.alloc(4);
  const tiny = rt.pipeline({ wgsl: TINY, label: 'tiny' });
  const DISPATCHES = 200;

  const roundTrip = await measure('readback round trip', async () => {
    rt.dispatch(tiny, [counter], [1]);
    await rt.read(counter, 0, 4);
  });
  const batch = await measure('200 dispatches + readback', async () => {
    for (let i = 0; i < DISPATCHES; i++) rt.dispatch(tiny, [counter], [1]);
    await rt.read(counter, 0, 4);
  });
  const perDispatchUs = ((batch.medianMs - roundTrip.medianMs) / (DISPATCHES - 1)) * 1000;

  const BYTES = 64 << 20;
  const host = new Float32Array(BYTES / 4).fill(1.5);
  const src = rt.upload(host);
  const dst = rt.alloc(BYTES);
  const upload = await measure('upload 64 MiB', async () => {
    rt.write(dst, host);
    await rt.sync();
  });
  const readback = await measure('readback 64 MiB', () => rt.read(src, 0, BYTES));
  const copy = rt.pipeline({ wgsl: COPY, label: 'copy' });
  const workgroups = Math.min(4096, BYTES / 16 / 256);
  const copyTime = await measure('vec4 copy 64 MiB', async () => {
    rt.dispatch(copy, [src, dst], [workgroups]);
    await rt.read(dst, 0, 4);
  });

  // Readback of a ~40 ms kernel: mapping at once (the bindings spin the JS
  // thread meanwhile) against the runtime's learned sleep-then-map.
  const spinOut = rt.alloc(4 << 16);
  const spin = rt.pipeline({ wgsl: SPIN, label: 'spin' });
  const staging = rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const immediate = await measure('long kernel, map at once', async () => {
    rt.dispatch(spin, [spinOut], [1024]);
    rt.batcher.copy(spinOut, 0, staging, 0, 16);
    rt.flush();
    await staging.mapAsync(GPUMapMode.READ);
    staging.unmap();
  });
  const waited = await measure('long kernel, runtime read', async () => {
    rt.dispatch(spin, [spinOut], [1024]);
    await rt.read(spinOut, 0, 16);
  });

  const gbps = (bytes: number, ms: number) => bytes / 1e9 / (ms / 1e3);
  for (const b of [counter, src, dst, spinOut]) rt.release(b);
  staging.destroy();
  return {
    dispatchUs: perDispatchUs,
    roundTripMs: roundTrip.medianMs,
    uploadGBps: gbps(BYTES, upload.medianMs),
    readbackGBps: gbps(BYTES, readback.medianMs),
    copyGBps: gbps(2 * BYTES, copyTime.medianMs),
    longReadbackMapAtOnceMs: immediate.medianMs,
    longReadbackLearnedWaitMs: waited.medianMs,
  };
}

export function printDeviceFloors(f: DeviceFloors): void {
  console.table({
    'dispatch overhead (µs/dispatch)': f.dispatchUs.toFixed(1),
    'small readback round trip (ms)': f.roundTripMs.toFixed(3),
    'upload 64 MiB (GB/s)': f.uploadGBps.toFixed(2),
    'readback 64 MiB (GB/s)': f.readbackGBps.toFixed(2),
    'WGSL vec4 copy (GB/s, read+write)': f.copyGBps.toFixed(2),
    'long kernel readback, map at once (ms)': f.longReadbackMapAtOnceMs.toFixed(2),
    'long kernel readback, learned wait (ms)': f.longReadbackLearnedWaitMs.toFixed(2),
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rt = await getRuntime();
  console.log(`device: ${rt.adapterInfo.description || rt.adapterInfo.device}`);
  printDeviceFloors(await measureDeviceFloors(rt));
  process.exit(0);
}
