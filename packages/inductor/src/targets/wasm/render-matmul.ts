/**
 * A matmul kernel of the IR on the kernel layer's float32 gemm (the one
 * eager's cpu matmul runs, so an element's sum is eager's to the bit): per
 * batch, B packed from its strides and `gemm` writing the output; then
 * the epilogue, when there is one, runs as a pointwise pass over the output
 * (./render-pointwise), the product read back where the IR has `acc` and
 * `bt`, `m`, `n` unravelled from the linear index. The epilogue in gemm's
 * registers would save that pass.
 */

import { gemm, poolThreads } from '@kiln/eager/kernels';
import type { MatmulKernel, MatmulOperand, PointwiseKernel } from '../../codegen/kernel';
import { add, div, type Expr, type Index, indexValue, ivar, min, mod, mul, size } from '../../ir/expr';
import { numelOf, sizeValue } from '../../ir/size';
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
    summary: `f32 gemm (6x8 f32x4 tiles, A and B packed${threadsNote()})${epilogue ? `, epilogue pass: ${accessSummary([k.epilogue], 'n')}` : ''}`,
    build(key, arena) {
      const runEpilogue = epilogue?.build(`${key}:epilogue`, arena);
      return (pointers, syms) => {
        const [M, N, K] = [k.M, k.N, k.K].map((s) => sizeValue(s, syms)) as [number, number, number];
        const batches = sizeValue(numelOf(k.batch), syms);
        if (M * N * batches === 0) return;
        const at = (ix: Index) => indexValue(ix, syms);
        /** Operand `op` of batch `bt` in the arena: its first element's byte offset and its matrix strides. */
        const matrix = (op: MatmulOperand, bt: number) => {
          const offset = k.batch.reduce<number>(
            (sum, s, d) =>
              sum + (Math.floor(bt / sizeValue(numelOf(k.batch.slice(d + 1)), syms)) % sizeValue(s, syms)) * at(op.strides[d]!),
            at(op.offset),
          );
          const strides: [number, number] = [at(op.strides[rank - 2]!), at(op.strides[rank - 1]!)];
          return { ptr: pointers[outs + op.input]! + 4 * offset, strides };
        };
        for (let bt = 0; bt < batches; bt++) {
          gemm(arena, { a: matrix(k.a, bt), b: matrix(k.b, bt), c: pointers[k.output]! + 4 * bt * M * N, M, N, K });
        }
        runEpilogue?.(pointers, syms);
      };
    },
  };
}
