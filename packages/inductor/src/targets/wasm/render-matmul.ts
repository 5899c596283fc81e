/**
 * A matmul kernel of the IR on ./matmul-f64 (float64 sums, as eager's):
 * per batch, B packed from its strides and `gemm` writing the output; then
 * the epilogue, when there is one, runs as a pointwise pass over the output
 * (./render-pointwise), the product read back where the IR has `acc` and
 * `bt`, `m`, `n` unravelled from the linear index. The epilogue in gemm's
 * registers would save that pass.
 */

import { poolThreads, runSplit } from '@kiln/eager/kernels';
import type { MatmulKernel, MatmulOperand, PointwiseKernel } from '../../codegen/kernel';
import { add, div, type Expr, type Index, indexValue, ivar, min, mod, mul, size } from '../../ir/expr';
import { numelOf, sizeValue } from '../../ir/size';
import { matmulF64Module } from './matmul-f64';
import { NoWasmForm } from './no-wasm-form';
import { accessSummary, renderPointwise } from './render-pointwise';
import type { RenderedWasm } from './rendered-wasm';

const BINARY_INDEX = { add, mul, div, mod, min } as const;

/** The epilogue as a pointwise kernel over the output's linear index `i`. */
function epilogueKernel(k: MatmulKernel): PointwiseKernel {
  const i = ivar('i');
  const [M, N] = [size(k.M), size(k.N)];
  const vars: Record<string, Index> = { bt: div(i, mul(M, N)), m: mod(div(i, N), M), n: mod(i, N) };
  const reindex = (ix: Index): Index => {
    switch (ix.kind) {
      case 'var':
        return vars[ix.name] ?? ix;
      case 'int':
      case 'sym':
        return ix;
      case 'value':
        throw new NoWasmForm('a data-dependent index in a matmul epilogue');
      default:
        return BINARY_INDEX[ix.kind](reindex(ix.a), reindex(ix.b));
    }
  };
  const atI = (e: Expr): Expr => {
    switch (e.kind) {
      case 'acc':
        return { kind: 'reload', output: k.output, index: i, dtype: 'float32' };
      case 'const':
        return e;
      case 'load':
      case 'reload':
        return { ...e, index: reindex(e.index) };
      case 'call':
        return { ...e, args: e.args.map(atI) };
      default:
        throw new NoWasmForm(`${e.kind} expressions in a matmul epilogue`);
    }
  };
  const { name, fusedOps, inputs, outputs, randomSources } = k;
  return {
    kind: 'pointwise',
    name,
    fusedOps,
    inputs,
    outputs,
    randomSources,
    shape: [...k.batch, k.M, k.N],
    stores: [{ output: k.output, expr: atI(k.epilogue) }],
  };
}

/** Multiply-adds below which a matmul stays on the calling thread (waking the workers costs tens of microseconds). */
const THREADED_WORK = 1 << 18;
/** gemm's tile height: slices of rows are whole tiles. */
const TILE_ROWS = 4;

const threadsNote = () => {
  const n = poolThreads();
  return n > 1 ? `, rows split over ${n} threads` : ', one thread';
};

export function renderMatmul(k: MatmulKernel, symCount: number): RenderedWasm {
  const operands = [k.inputs[k.a.input], k.inputs[k.b.input], k.outputs[k.output]];
  if (operands.some((b) => b?.dtype !== 'float32') || k.outputs.length !== 1) throw new NoWasmForm('a matmul that is not float32');
  const plain = k.epilogue.kind === 'acc';
  const epilogue = plain ? undefined : renderPointwise(epilogueKernel(k), symCount);
  const outs = k.outputs.length;
  const rank = k.a.strides.length;
  return {
    summary: `float64-accumulating f32 gemm (4x4 f64x2 tiles, B packed${threadsNote()})${epilogue ? `, epilogue pass: ${accessSummary([k.epilogue], 'n')}` : ''}`,
    build(key, arena) {
      const gemm = arena.kernel(matmulF64Module(), 'gemm');
      const threads = arena.threads();
      const pack = arena.kernel(matmulF64Module(), 'pack');
      const runEpilogue = epilogue?.build(`${key}:epilogue`, arena);
      return (pointers, syms) => {
        const [M, N, K] = [k.M, k.N, k.K].map((s) => sizeValue(s, syms)) as [number, number, number];
        const batches = sizeValue(numelOf(k.batch), syms);
        if (M * N * batches === 0) return;
        const at = (ix: Index) => indexValue(ix, syms);
        /** Element offset of batch `bt` of an operand. */
        const base = (op: MatmulOperand, bt: number) =>
          k.batch.reduce<number>(
            (sum, s, d) =>
              sum + (Math.floor(bt / sizeValue(numelOf(k.batch.slice(d + 1)), syms)) % sizeValue(s, syms)) * at(op.strides[d]!),
            at(op.offset),
          );
        const stride = (op: MatmulOperand, d: number) => at(op.strides[rank - 2 + d]!);
        // Packed B after the staged buffers (freed with them by the next launch's reset): 4 doubles per k per panel.
        const packed = arena.alloc(Math.ceil(N / 4) * 8 * K);
        for (let bt = 0; bt < batches; bt++) {
          pack(packed, pointers[outs + k.b.input]! + 4 * base(k.b, bt), K, N, stride(k.b, 0), stride(k.b, 1));
          const a = pointers[outs + k.a.input]! + 4 * base(k.a, bt);
          const args = [a, stride(k.a, 0), stride(k.a, 1), packed, pointers[k.output]! + 4 * bt * M * N, M, N, K];
          // Rows split across the threads: a slice starting at row f reads A from row f and writes C from row f.
          const perRow = [4 * stride(k.a, 0), 0, 0, 0, 4 * N, 0, 0, 0];
          const split = { rows: M, base: args, perRow, rowsArg: 5, multiple: TILE_ROWS };
          runSplit(threads, gemm, matmulF64Module(), 'gemm', split, M * N * K >= THREADED_WORK);
        }
        runEpilogue?.(pointers, syms);
      };
    },
  };
}
