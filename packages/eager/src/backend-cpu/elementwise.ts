/**
 * The cpu elementwise kernel: JS generated from the op's template
 * (../ops/elementwise), one function per (op, dtypes, operand kinds, rank),
 * looping over the coalesced dims of the output and all operands by stride.
 */

import type { Operand, TensorRef } from '../backend';
import { isTensorRef } from '../backend';
import { jsKernel } from '../kernels/js-kernels';
import { hostDataOf } from '../kernels/storage';
import type { ElementwiseOp, ElementwiseTypes } from '../ops/elementwise';
import { ELEMENTWISE, helpersFor, jsConvert } from '../ops/elementwise';
import { coalesce, numelOf } from '../view';
import type { Walker } from './loops';
import { locals, loopNest } from './loops';

type ElementwiseKernel = (
  shape: readonly number[],
  out: unknown,
  outOffset: number,
  outStrides: readonly number[],
  ...operands: unknown[]
) => void;

function source(op: ElementwiseOp, inputs: readonly Operand[], out: TensorRef, types: ElementwiseTypes, rank: number): string {
  const params: string[] = [];
  const hoist = [locals('n', 'shape', rank), locals('so', 'os', rank)];
  const walkers: Walker[] = [{ ptr: 'po', start: 'oo', stride: 'so' }];
  const reads = inputs.map((o, k) => {
    if (!isTensorRef(o)) {
      params.push(`c${k}`);
      return { k, from: o.dtype, expr: () => `c${k}` };
    }
    params.push(`A${k}`, `ao${k}`, `as${k}`);
    hoist.push(locals(`s${k}_`, `as${k}`, rank));
    const w = walkers.push({ ptr: `p${k}_`, start: `ao${k}`, stride: `s${k}_` }) - 1;
    return { k, from: o.storage.dtype, expr: (at: (w: number) => string) => `A${k}[${at(w)}]` };
  });
  const value = ELEMENTWISE[op].js(
    reads.map((r) => `x${r.k}`),
    types.operand,
  );
  const body = loopNest(rank, 'n', 'i', walkers, (at) =>
    [
      ...reads.map((r) => `const x${r.k} = ${jsConvert(r.expr(at), r.from, types.compute[r.k])};`),
      `O[${at(0)}] = ${jsConvert(value, types.result, out.storage.dtype)};`,
    ].join('\n'),
  );
  return `${helpersFor(body, 'js').join('\n')}
return function ${op}(shape, O, oo, os, ${params.join(', ')}) {
${hoist.join('\n')}
${body}
};`;
}

export function elementwise(op: ElementwiseOp, inputs: readonly Operand[], out: TensorRef, types: ElementwiseTypes): void {
  const shape = out.view.shape;
  if (numelOf(shape) === 0) return;
  const tensors = inputs.filter(isTensorRef);
  const dims = coalesce(shape, [out.view.strides, ...tensors.map((t) => t.view.strides)]);
  const rank = dims.shape.length;
  const kinds = inputs.map((o) => (isTensorRef(o) ? o.storage.dtype : `#${o.dtype}`)).join(',');
  const key = `elementwise|${op}|${kinds}|${types.compute.join(',')}|${types.result}|${out.storage.dtype}|${rank}`;
  const kernel = jsKernel<ElementwiseKernel>(key, () => source(op, inputs, out, types, rank));
  let t = 0;
  const args = inputs.flatMap((o) => {
    if (!isTensorRef(o)) return [o.value];
    const strides = dims.strides[++t];
    return [hostDataOf(o.storage), o.view.offset, strides];
  });
  kernel(dims.shape, hostDataOf(out.storage), out.view.offset, dims.strides[0], ...args);
}
