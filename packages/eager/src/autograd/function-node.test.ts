/**
 * Nodes whose backward is a function (what a compiled graph's results get):
 * the function runs once, after every result's gradient has arrived (null
 * for results none reached); what it saved is freed after, checked for
 * in-place writes before, as eager's own nodes are.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../creation';
import type { Tensor } from '../tensor';
import { FunctionNode } from './function-node';
import { noGrad } from './grad-mode';
import { edgeOf, setGradFn } from './state';

const meta = (t: Tensor) => ({ shape: [...t.shape], dtype: t.dtype, device: t.device });

/** y0 = a * b and y1 = 2 c, computed without recording, given one function node. */
function make() {
  const [a, b, c] = [tensor([1, 2]), tensor([3, 4]), tensor([5, 6])].map((t) => t.requiresGrad_());
  const [y0, y1] = noGrad(() => [a!.mul(b!), c!.mul(2)]);
  const calls: number[] = [];
  const node = new FunctionNode(
    'f',
    [a!, b!, c!].map(meta),
    [meta(y0!), meta(y1!)],
    [a!, b!, c!].map(edgeOf),
    [b!, a!],
    ([g0, g1], [sb, sa]) => {
      calls.push([g0, g1].filter((g) => g !== null).length);
      return [g0 ? g0.mul(sb!) : null, g0 ? g0.mul(sa!) : null, g1 ? g1.mul(2) : null];
    },
  );
  setGradFn(y0!, node.output(0));
  setGradFn(y1!, node.output(1));
  return { a: a!, b: b!, c: c!, y0: y0!, y1: y1!, calls };
}

describe('FunctionNode', () => {
  it('runs the function once with the gradients of every result that one reached', async () => {
    const { a, b, c, y0, y1, calls } = make();
    y0.sum().add(y1.mul(0).sum()).add(y0.mul(2).sum()).backward();
    expect(calls).toEqual([2]);
    expect(await a.grad!.toArray()).toEqual([9, 12]);
    expect(await b.grad!.toArray()).toEqual([3, 6]);
    expect(await c.grad!.toArray()).toEqual([0, 0]);
    const other = make();
    other.y0.sum().backward();
    expect(other.calls).toEqual([1]);
    expect(other.c.grad).toBeNull();
  });

  it('frees what it saved: a second pass is an error; a saved tensor written in place too', () => {
    const { y0 } = make();
    y0.sum().backward();
    expect(() => y0.sum().backward()).toThrow('trying to backward through the graph a second time');
    const { a, y0: z } = make();
    noGrad(() => a.add_(1));
    expect(() => z.sum().backward()).toThrow('modified by an in-place operation');
  });
});
