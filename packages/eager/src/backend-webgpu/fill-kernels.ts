import type { GpuRuntime } from '@kiln/gpu-runtime';
import { ELEMENT_THREADS, gridFor, kernelPrelude } from '../kernels/prelude';
import { PHILOX_WGSL, splitU64 } from '../random';
import { numelOf } from '../view';
import { OPAQUE_ZERO_INIT, STORAGE_TYPE, storeAs } from '../wgsl';
import type { StridedOperand } from './strided-operand';

/** Kernels that write a dense output from its index alone: arange and the random streams. */

function runIndexFill(rt: GpuRuntime, name: string, out: StridedOperand, words: readonly number[], value: string, helpers = ''): void {
  const n = numelOf(out.shape);
  if (n === 0) return;
  const wgsl = `// kiln eager kernel: ${name}
${kernelPrelude(2 + words.length)}
@group(0) @binding(1) var<storage, read_write> out: array<${STORAGE_TYPE[out.dtype]}>;
${helpers}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${OPAQUE_ZERO_INIT}
  for (var i = gid.x; i < info(0u); i += nwg.x * ${ELEMENT_THREADS}u) {
    out[info(1u) + i] = ${value};
  }
}
`;
  const pipeline = rt.pipeline({ wgsl, label: name });
  rt.dispatch(pipeline, [rt.uniform(new Uint32Array([n, out.offset, ...words])), out.buffer], [gridFor(n, ELEMENT_THREADS)], name);
}

const f32Bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;

/** out[i] = start + i * step, computed in out's dtype (start and step in f32 or i32). */
export function runArange(rt: GpuRuntime, out: StridedOperand, start: number, step: number): void {
  const float = out.dtype === 'float32';
  const words = float ? [f32Bits(start), f32Bits(step)] : [(start | 0) >>> 0, (step | 0) >>> 0];
  const value = float
    ? 'bitcast<f32>(info(2u)) + f32(i) * bitcast<f32>(info(3u))'
    : 'bitcast<i32>(info(2u)) + i32(i) * bitcast<i32>(info(3u))';
  runIndexFill(rt, 'arange', out, words, storeAs(value, float ? 'float32' : 'int32', out.dtype));
}

/** Philox4x32-10 numbers at stream positions offset + i under `seed` (../random), as on every device. */
export function runRandom(rt: GpuRuntime, out: StridedOperand, dist: 'uniform' | 'normal', seed: number, offset: number): void {
  const [k0, k1] = splitU64(seed);
  const [o0, o1] = splitU64(offset);
  // pos = offset + i as a u64 in two words (with the carry of the low word).
  const value = `kiln_random(vec2u(info(2u) + i, info(3u) + select(0u, 1u, info(2u) + i < i)), vec2u(info(4u), info(5u)), ${dist === 'uniform' ? 0 : 1}u)`;
  runIndexFill(rt, dist === 'uniform' ? 'rand' : 'randn', out, [o0, o1, k0, k1], value, PHILOX_WGSL);
}
