import type { GpuRuntime } from '@kiln/gpu-runtime';
import { gridFor, kernelPrelude } from '../kernels/prelude';
import { REDUCTIONS, type ReduceOp } from '../ops/reductions';
import { isContiguous, numelOf } from '../view';
import { loadAs, OPAQUE_ZERO_INIT, STORAGE_TYPE, storeAs, VALUE_TYPE } from '../wgsl';
import { memoPipeline } from './pipeline-memo';
import { reductionStatements } from './reduce-statements';
import type { StridedOperand } from './strided-operand';

/**
 * How rows are spread over threads. 'thread': one thread per output row,
 * looping over the row (won on lavapipe, where a workgroup is one core's
 * work anyway). 'workgroup': one workgroup per row, threads striding over it
 * and combining in workgroup memory (needed when rows are few and long; the
 * usual winner on real GPUs).
 */
export type ReduceStrategy = 'thread' | 'workgroup';

export interface ReduceSpec {
  name: string;
  op: ReduceOp;
  /** Input viewed as [...outer, ...reduced]: the caller permutes reduced dims last (a view, no copy). */
  input: StridedOperand;
  /** How many leading dims of `input` are kept (outer). */
  outerRank: number;
  /** A dense buffer of numel(outer) elements. */
  output: StridedOperand;
  strategy?: ReduceStrategy;
}

/** The strategy kiln picks when the caller does not: few long rows get a workgroup each. */
export function defaultStrategy(rows: number, rowLength: number): ReduceStrategy {
  return rows < 64 && rowLength >= 256 ? 'workgroup' : 'thread';
}

const WG_THREAD = 64;
const WG_ROW = 128;

/** One dispatch reducing each row of `input` (the trailing dims) into one output element. */
export function runReduction(rt: GpuRuntime, spec: ReduceSpec): void {
  const { input, outerRank } = spec;
  const rows = numelOf(input.shape.slice(0, outerRank));
  const rowLength = numelOf(input.shape.slice(outerRank));
  if (rows === 0) return;
  const strategy = spec.strategy ?? defaultStrategy(rows, rowLength);
  const dense = isContiguous(input);
  const words = dense
    ? [rows, rowLength, input.offset, spec.output.offset]
    : [rows, rowLength, input.offset, spec.output.offset, ...input.shape, ...input.strides];
  const signature = [spec.name, spec.op, strategy, dense, input.shape.length, outerRank, input.dtype, spec.output.dtype].join('|');
  const pipeline = memoPipeline(rt, signature, spec.name, () => renderReduction(spec, strategy, dense));
  const bindings = [rt.uniform(new Uint32Array(words)), input.buffer, spec.output.buffer];
  const workgroups = strategy === 'thread' ? gridFor(rows, WG_THREAD) : Math.min(rows, 65535);
  rt.dispatch(pipeline, bindings, [workgroups], spec.name);
}

export function renderReduction(spec: ReduceSpec, strategy: ReduceStrategy, dense: boolean): string {
  const { input, outerRank } = spec;
  const rank = input.shape.length;
  const table = REDUCTIONS[spec.op];
  const t = table.math(input.dtype);
  const c = reductionStatements(spec.op, t);
  const tracked = c.tracked;
  // Element offset of (row, j): linear when dense, else unravel both over strides.
  const offset = dense
    ? 'info(2u) + row * info(1u) + j'
    : `info(2u) + ${[...unravel('row', 0, outerRank, rank), ...unravel('j', outerRank, rank, rank)].join(' + ') || '0u'}`;
  const load = loadAs(`src[${offset}]`, input.dtype, t);
  const store = `dst[info(3u) + row] = ${storeAs(c.result, table.out(t), spec.output.dtype)};`;
  const declare = c.declare;
  const header = `// kiln eager kernel: ${spec.name} (${spec.op} over rows, ${strategy}${dense ? '' : ', strided'})
${kernelPrelude(4 + (dense ? 0 : 2 * rank))}
@group(0) @binding(1) var<storage, read> src: array<${STORAGE_TYPE[input.dtype]}>;
@group(0) @binding(2) var<storage, read_write> dst: array<${STORAGE_TYPE[spec.output.dtype]}>;`;

  if (strategy === 'thread') {
    return `${header}
@compute @workgroup_size(${WG_THREAD})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${OPAQUE_ZERO_INIT}
  for (var row = gid.x; row < info(0u); row += nwg.x * ${WG_THREAD}u) {
    ${declare}
    for (var j = 0u; j < info(1u); j++) {
      let v = ${load};
      ${c.update('v')}
    }
    ${store}
  }
}
`;
  }
  return `${header}
var<workgroup> part: array<${VALUE_TYPE[t]}, ${WG_ROW}>;
${tracked ? `var<workgroup> partIdx: array<i32, ${WG_ROW}>;` : ''}
@compute @workgroup_size(${WG_ROW})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${OPAQUE_ZERO_INIT}
  for (var row = wid.x; row < info(0u); row += nwg.x) {
    ${declare}
    for (var j = lid.x; j < info(1u); j += ${WG_ROW}u) {
      let v = ${load};
      ${c.update('v')}
    }
    part[lid.x] = acc;${tracked ? '\n    partIdx[lid.x] = idx;' : ''}
    workgroupBarrier();
    for (var width = ${WG_ROW / 2}u; width > 0u; width = width / 2u) {
      if (lid.x < width) {
        acc = part[lid.x];${tracked ? '\n        idx = partIdx[lid.x];' : ''}
        let acc2 = part[lid.x + width];${tracked ? '\n        let idx2 = partIdx[lid.x + width];' : ''}
        ${c.combine}
        part[lid.x] = acc;${tracked ? '\n        partIdx[lid.x] = idx;' : ''}
      }
      workgroupBarrier();
    }
    if (lid.x == 0u) {
      acc = part[0];${tracked ? '\n      idx = partIdx[0];' : ''}
      ${store}
    }
    workgroupBarrier();
  }
}
`;
}

/** Terms `i_d * stride_d` for dims [from, to) of linear index `name` (row-major); info holds shape then strides. */
function unravel(name: string, from: number, to: number, rank: number): string[] {
  const terms: string[] = [];
  let divisor = '';
  for (let d = to - 1; d >= from; d--) {
    const size = `info(${4 + d}u)`;
    const idx = divisor ? `((${name} / (${divisor})) % ${size})` : `(${name} % ${size})`;
    terms.push(`${idx} * info(${4 + rank + d}u)`);
    divisor = divisor ? `${divisor} * ${size}` : size;
  }
  return terms;
}
