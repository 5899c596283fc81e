import type { GpuRuntime } from '@kiln/gpu-runtime';
import { kernelPrelude } from '../kernels/prelude';
import { defaultRowStrategy, type RowStrategy, reductionStatements, renderRowsWgsl, rowGrid } from '../kernels/rows';
import { REDUCTIONS, type ReduceOp } from '../ops/reductions';
import { isContiguous, numelOf } from '../view';
import { loadAs, STORAGE_TYPE, storeAs } from '../wgsl';
import { memoPipeline } from './pipeline-memo';
import type { StridedOperand } from './strided-operand';

export interface ReduceSpec {
  name: string;
  op: ReduceOp;
  /** Input viewed as [...outer, ...reduced]: the caller permutes reduced dims last (a view, no copy). */
  input: StridedOperand;
  /** How many leading dims of `input` are kept (outer). */
  outerRank: number;
  /** A dense buffer of numel(outer) elements. */
  output: StridedOperand;
  /** Defaults to defaultRowStrategy (../kernels). */
  strategy?: RowStrategy;
}

/** One dispatch reducing each row of `input` (the trailing dims) into one output element. */
export function runReduction(rt: GpuRuntime, spec: ReduceSpec): void {
  const { input, outerRank } = spec;
  const rows = numelOf(input.shape.slice(0, outerRank));
  const rowLength = numelOf(input.shape.slice(outerRank));
  if (rows === 0) return;
  const strategy = spec.strategy ?? defaultRowStrategy(rows, rowLength);
  const dense = isContiguous(input);
  const words = dense
    ? [rows, rowLength, input.offset, spec.output.offset]
    : [rows, rowLength, input.offset, spec.output.offset, ...input.shape, ...input.strides];
  const signature = [spec.name, spec.op, strategy, dense, input.shape.length, outerRank, input.dtype, spec.output.dtype].join('|');
  const pipeline = memoPipeline(rt, signature, spec.name, () => renderReduction(spec, strategy, dense));
  const bindings = [rt.uniform(new Uint32Array(words)), input.buffer, spec.output.buffer];
  rt.dispatch(pipeline, bindings, [rowGrid(strategy, rows)], spec.name);
}

/** The row template (../kernels) with one reduction loading row `o`, position `j` of `src` and one store. */
export function renderReduction(spec: ReduceSpec, strategy: RowStrategy, dense: boolean): string {
  const { input, outerRank } = spec;
  const rank = input.shape.length;
  const table = REDUCTIONS[spec.op];
  const t = table.math(input.dtype);
  const code = reductionStatements('wgsl', spec.op, t);
  // Element offset of (o, j): linear when dense, else unravel both over strides.
  const offset = dense
    ? 'info(2u) + o * info(1u) + j'
    : `info(2u) + ${[...unravel('o', 0, outerRank, rank), ...unravel('j', outerRank, rank, rank)].join(' + ') || '0u'}`;
  return renderRowsWgsl({
    strategy,
    header: () => `// kiln eager kernel: ${spec.name} (${spec.op} over rows, ${strategy}${dense ? '' : ', strided'})
${kernelPrelude(4 + (dense ? 0 : 2 * rank))}
@group(0) @binding(1) var<storage, read> src: array<${STORAGE_TYPE[input.dtype]}>;
@group(0) @binding(2) var<storage, read_write> dst: array<${STORAGE_TYPE[spec.output.dtype]}>;`,
    rows: 'info(0u)',
    rowLength: 'info(1u)',
    reductions: [{ code, lines: [`let v = ${loadAs(`src[${offset}]`, input.dtype, t)};`], value: 'v' }],
    rowLines: [],
    rowStores: [`dst[info(3u) + o] = ${storeAs(code.result, table.out(t), spec.output.dtype)};`],
    elementLines: [],
  });
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
