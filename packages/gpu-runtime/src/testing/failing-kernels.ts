/**
 * Run as its own process by quiet-errors.test.ts (`node --import tsx`): makes
 * WebGPU errors of two kinds and prints, as its only stdout line, the JSON
 * list of the KilnErrors they became.
 */
import { getRuntime } from '../runtime';

const rt = await getRuntime();
const messages: string[] = [];
const report = (e: unknown) => messages.push(e instanceof Error ? e.message : String(e));

// A kernel that does not compile, dispatched.
const broken = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = undefined_thing; }`;
try {
  rt.dispatch(rt.pipeline({ wgsl: broken, label: 'broken_kernel' }), [rt.alloc(16)], [1]);
  await rt.sync();
} catch (e) {
  report(e);
}

// An error only the device sees: MAP_READ with MAP_WRITE is an invalid usage.
rt.device.createBuffer({ size: 4, usage: 0x1 | 0x2, label: 'bad_usage' });
try {
  await rt.sync();
} catch (e) {
  report(e);
}

console.log(JSON.stringify(messages));
