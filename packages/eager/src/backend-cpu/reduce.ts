/**
 * The cpu reduction kernel: the reduction's statements (../kernels) in an
 * outer loop nest over the kept dims (output and input walked together)
 * around an inner nest over the reduced dims.
 */
import type { TensorRef } from '../backend';
import type { DType } from '../dtype';
import { jsKernel } from '../kernels/js-kernels';
import { reductionStatements } from '../kernels/rows';
import { hostDataOf } from '../kernels/storage';
import { jsConvert } from '../ops/elementwise';
import type { ReduceOp } from '../ops/reductions';
import { REDUCTIONS } from '../ops/reductions';
import { coalesce, numelOf } from '../view';
import { locals, loopNest } from './loops';

type ReduceKernel = (
  sizes: readonly number[],
  O: unknown,
  oo: number,
  os: readonly number[],
  A: unknown,
  ao: number,
  as: readonly number[],
) => void;

function source(op: ReduceOp, inDtype: DType, outDtype: DType, kept: number, reduced: number): string {
  const dt = REDUCTIONS[op].math(inDtype);
  // The reduced dims are a loop nest, so the position in the row is counted.
  const c = reductionStatements('js', op, dt, outDtype, { pos: 'pos' });
  const inner = (start: string) =>
    loopNest(
      reduced,
      'r',
      'j',
      [{ ptr: 'pr', start, stride: 'sr' }],
      (at) => `const x = ${jsConvert(`A[${at(0)}]`, inDtype, dt)};\n${c.update('x')}${c.tracked ? ' pos++;' : ''}`,
    );
  const outer = loopNest(
    kept,
    'n',
    'i',
    [
      { ptr: 'po', start: 'oo', stride: 'so' },
      { ptr: 'pa', start: 'ao', stride: 'sa' },
    ],
    (at) => `
${c.declare}${c.tracked ? ' let pos = 0;' : ''}
${inner(at(1))}
O[${at(0)}] = ${c.result};`,
  );
  return `return function ${op}(sizes, O, oo, os, A, ao, as) {
${locals('n', 'sizes', kept)} ${locals('r', 'sizes', reduced, kept)}
${locals('so', 'os', kept)} ${locals('sa', 'as', kept)} ${locals('sr', 'as', reduced, kept)}
${outer}
};`;
}

export function reduce(op: ReduceOp, input: TensorRef, out: TensorRef, dims: readonly number[]): void {
  if (numelOf(out.view.shape) === 0) return;
  const v = input.view;
  const keptDims = v.shape.map((_, d) => d).filter((d) => !dims.includes(d));
  const kept = coalesce(out.view.shape, [out.view.strides, keptDims.map((d) => v.strides[d])]);
  const red = coalesce(
    dims.map((d) => v.shape[d]),
    [dims.map((d) => v.strides[d])],
  );
  const inDtype = input.storage.dtype;
  const outDtype = out.storage.dtype;
  const key = `reduce|${op}|${inDtype}|${outDtype}|${kept.shape.length}|${red.shape.length}`;
  const kernel = jsKernel<ReduceKernel>(key, () => source(op, inDtype, outDtype, kept.shape.length, red.shape.length));
  kernel([...kept.shape, ...red.shape], hostDataOf(out.storage), out.view.offset, kept.strides[0], hostDataOf(input.storage), v.offset, [
    ...kept.strides[1],
    ...red.strides[0],
  ]);
}
