/**
 * The cpu reduction kernel, generated from the op's template
 * (../ops/reductions): an outer loop nest over the kept dims (output and
 * input walked together) around an inner nest over the reduced dims.
 */
import type { TensorRef } from '../backend';
import type { DType } from '../dtype';
import { jsKernel } from '../kernels/js-kernels';
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
  const spec = REDUCTIONS[op];
  const dt = spec.math(inDtype);
  const load = (ptr: string) => jsConvert(`A[${ptr}]`, inDtype, dt);
  const step =
    spec.mode === 'accumulate'
      ? `acc = ${spec.js.step('acc', 'x', dt)};`
      : `if (${spec.js.step('acc', 'x', dt)}) { acc = x;${spec.index ? ' best = pos;' : ''} }${spec.index ? ' pos++;' : ''}`;
  const inner = (start: string) =>
    loopNest(reduced, 'r', 'j', [{ ptr: 'pr', start, stride: 'sr' }], (at) => `const x = ${load(at(0))};\n${step}`);
  const outer = loopNest(
    kept,
    'n',
    'i',
    [
      { ptr: 'po', start: 'oo', stride: 'so' },
      { ptr: 'pa', start: 'ao', stride: 'sa' },
    ],
    (at) => `
let acc = ${spec.js.init(dt)};${spec.index ? ' let best = 0, pos = 0;' : ''}
${inner(at(1))}
O[${at(0)}] = ${spec.index ? 'best' : jsConvert('acc', dt, outDtype)};`,
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
