import { assertSite, assertWgsl, type GpuRuntime } from '@kiln/gpu-runtime';
import { ELEMENT_THREADS, gridFor, kernelPrelude } from '../kernels/prelude';
import { numelOf } from '../view';
import { OPAQUE_ZERO_INIT, STORAGE_TYPE } from '../wgsl';
import type { StridedOperand } from './strided-operand';

/**
 * out[i...] = input[i... with i[dim] = index[i...]], reading input and index
 * through their strides; out is dense. An index outside [0, size) is
 * recorded as a device-side assert of `op` (raised at the next sync) and
 * reads element 0 of the dim instead (never outside the input).
 */
export function runGather(
  rt: GpuRuntime,
  input: StridedOperand,
  index: StridedOperand,
  out: StridedOperand,
  dim: number,
  op: string,
): void {
  const n = numelOf(out.shape);
  if (n === 0) return;
  const rank = out.shape.length;
  const words = [n, input.shape[dim]!, input.offset, index.offset, out.offset, ...out.shape, ...input.strides, ...index.strides];
  const wgsl = renderGather(rank, dim, input.dtype, out.dtype, assertSite(op, dim));
  const pipeline = rt.pipeline({ wgsl, label: 'gather' });
  const bindings = [rt.uniform(new Uint32Array(words)), input.buffer, index.buffer, out.buffer, rt.assertBuffer];
  rt.dispatch(pipeline, bindings, [gridFor(n, ELEMENT_THREADS)], 'gather');
}

function renderGather(rank: number, dim: number, inType: StridedOperand['dtype'], outType: StridedOperand['dtype'], site: number): string {
  const shape = (d: number) => `info(${5 + d}u)`;
  const inStride = (d: number) => `info(${5 + rank + d}u)`;
  const ixStride = (d: number) => `info(${5 + 2 * rank + d}u)`;
  const unravel = Array.from({ length: rank }, (_, j) => {
    const d = rank - 1 - j;
    return `let idx${d} = rem % ${shape(d)}; rem = rem / ${shape(d)};`;
  });
  const dims = Array.from({ length: rank }, (_, d) => d);
  const inTerms = dims.filter((d) => d !== dim).map((d) => `idx${d} * ${inStride(d)}`);
  const ixTerms = dims.map((d) => `idx${d} * ${ixStride(d)}`);
  return `// kiln eager kernel: gather (dim ${dim} of rank ${rank})
${kernelPrelude(5 + 3 * rank)}
@group(0) @binding(1) var<storage, read> src: array<${STORAGE_TYPE[inType]}>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${STORAGE_TYPE[outType]}>;
${assertWgsl(4)}
@compute @workgroup_size(${ELEMENT_THREADS})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${OPAQUE_ZERO_INIT}
  for (var i = gid.x; i < info(0u); i += nwg.x * ${ELEMENT_THREADS}u) {
    var rem = i;
    ${unravel.join('\n    ')}
    let v = index[${['info(3u)', ...ixTerms].join(' + ')}];
    kiln_check_index(v, info(1u), ${site}u);
    let at = min(u32(max(v, 0)), info(1u) - 1u);
    out[info(4u) + i] = src[${['info(2u)', ...inTerms, `at * ${inStride(dim)}`].join(' + ')}];
  }
}
`;
}
