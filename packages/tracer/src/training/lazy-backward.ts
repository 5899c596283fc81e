/**
 * `loss.backward()` inside a compiled function: the backward pass is
 * recorded into the call's graph like any other code. From the loss, every
 * pending tensor that needs grad is visited once, latest first, and its
 * op's rule (the autograd rule table, written with kiln ops) runs on lazy
 * tensors, so the gradients are pending tensors of the same graph as the
 * forward, fused with it and with whatever uses them next (an optimizer's
 * update). A leaf's gradient is accumulated into its `.grad` as eager does
 * (set when it has none, added in place when it has one): a pending tensor
 * computed by the end of the call.
 *
 * Where the pass reaches a tensor computed outside the pending graph that
 * has a history of its own (an earlier graph of the call, an eager tensor
 * with a gradFn), the rest runs eagerly: a graph break, then eager's engine
 * from those tensors with the gradients that reached them.
 */
import type { Input, Tensor, VjpContext, VjpRule } from '@kiln/eager';
import {
  backwardFrom,
  checkedGradient,
  edgeOf,
  full,
  getGrad,
  KilnError,
  keep,
  LeafEdge,
  noGradError,
  setGrad,
  VJP,
  views,
  withGradMode,
  withMode,
} from '@kiln/eager';
import type { LazyArg } from '../capture/lazy';
import { LazyTensor, Pin } from '../capture/lazy';
import type { Recorder } from '../capture/recorder';
import { rootOf } from '../capture/recorder';
import { carriesGrad } from './grad-flags';

/** The backward pass from `root` with `gradient` (a one-element root's may be omitted), recorded by `rec`. */
export function lazyBackward(rec: Recorder, root: Tensor, gradient: Tensor | null, retainGraph: boolean): void {
  if (!root.requiresGrad) throw noGradError(root);
  withGradMode(
    false,
    () => {
      const seed = gradient ?? full(root.shape, 1, { device: root.device });
      const reached = isNode(rec, root) ? walk(rec, root, seed, retainGraph) : new Map<Tensor, Tensor>([[root, seed]]);
      const outside: [Tensor, Tensor][] = [];
      const given = new Set<Tensor>();
      for (const [arg, g] of reached) {
        const t = arg instanceof Pin ? arg.source : arg;
        const edge = edgeOf(t);
        if (edge instanceof LeafEdge) accumulate(rec, t, g, given);
        else if (edge !== null) outside.push([t, g]);
      }
      if (outside.length > 0) eagerRest(rec, outside, retainGraph);
    },
    'backward',
  );
}

/** A pending tensor of this call's graph, which the pass walks (anything else is where it stops). */
function isNode(rec: Recorder, a: LazyArg): a is LazyTensor {
  return a instanceof LazyTensor && a.owner === rec && a.real === null;
}

/**
 * The pass through the pending graph: each node that needs grad, latest
 * first, gives its inputs' gradients. Returns the gradients that reached
 * tensors outside the pending graph, by the operand that reads them.
 */
function walk(rec: Recorder, root: LazyTensor, seed: Tensor, retainGraph: boolean): Map<Tensor, Tensor> {
  const nodes: LazyTensor[] = [];
  const seen = new Set<LazyTensor>([root]);
  for (const stack = [root]; stack.length > 0; ) {
    const n = stack.pop()!;
    if (n.consumed) {
      throw new KilnError(
        'trying to backward through the graph a second time: an earlier backward() in this call went through it and freed it; ' +
          'pass { retainGraph: true } to that backward() to keep it',
        { op: 'backward' },
      );
    }
    nodes.push(n);
    for (const a of n.args!) {
      if (!isNode(rec, a) || !a.needsGrad || seen.has(a)) continue;
      seen.add(a);
      stack.push(a);
    }
  }
  nodes.sort((a, b) => b.seq - a.seq);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const add = (a: Tensor, g: Tensor) => {
    const prev = grads.get(a);
    grads.set(a, prev ? prev.add(g) : g);
  };
  for (const n of nodes) {
    const g = grads.get(n);
    if (g === undefined) continue;
    grads.delete(n);
    const args = n.args!;
    const inputGrads = applyRule(rec, n, g);
    inputGrads.forEach((gi, i) => {
      if (gi) add(args[i] as Tensor, gi);
    });
    if (!retainGraph) n.consumed = true;
  }
  return grads;
}

/** Node `n`'s rule on `g`: each operand's gradient (null where it carries none), summed to its shape. */
function applyRule(rec: Recorder, n: LazyTensor, g: Tensor): (Tensor | null)[] {
  const rule = VJP[n.op];
  if (typeof rule !== 'object') throw new KilnError(`internal: ${n.op} needs grad but has no backward rule (${rule})`, { op: 'backward' });
  const args = n.args!;
  const needs = args.map(carriesGrad);
  // A tensor the code disposed (a tidy inside the function) is still a value of the graph: the rule reads an alias of it.
  const live = (t: LazyArg): Input => (t instanceof LazyTensor && t.isDisposed ? rec.alias(t) : t);
  const ctx: VjpContext = {
    op: n.op,
    attrs: n.attrs,
    inputs: args.map((a) => (typeof a === 'object' ? { shape: a.shape, dtype: a.dtype, device: a.device } : a)),
    output: n,
    needs,
    view: null,
    input: (i) => live(args[i]!),
    result: () => live(n) as Tensor,
  };
  const grads = (rule as VjpRule<typeof n.op>).vjp(g, ctx as never);
  return args.map((a, i) => {
    const gi = grads[i];
    return needs[i] && gi && typeof a === 'object' ? checkedGradient(gi, a, `input ${i} of ${n.op}`) : null;
  });
}

/**
 * Adds `g` to leaf `t`'s `.grad` as eager's engine does: in place when it
 * has one, else `g` becomes it (a tensor of its own, contiguous, kept past
 * any tidy and computed by the end of the call).
 */
function accumulate(rec: Recorder, t: Tensor, g: Tensor, given: Set<Tensor>): void {
  if (t.isDisposed) return;
  const prev = getGrad(t);
  if (prev && !prev.isDisposed) {
    prev.copy_(prev.add(g));
    return;
  }
  // As eager adopts the engine's own buffer: a pending gradient that covers all of its memory, contiguously, and is no other leaf's.
  const root = isNode(rec, g) ? rootOf(g) : null;
  const adopt =
    root instanceof LazyTensor && isNode(rec, root) && !given.has(root) && views.isContiguous(g.layout) && g.numel === root.numel;
  const own = adopt ? g : g.clone();
  given.add(adopt ? root : own);
  setGrad(t, keep(own), true);
  rec.keepUntilEnd(own as LazyTensor);
}

/** The gradients that reached tensors with a history outside this graph: computed now (a graph break), then eager's engine goes on from them. */
function eagerRest(rec: Recorder, outside: readonly [Tensor, Tensor][], retainGraph: boolean): void {
  rec.graphBreak(
    'op',
    () => 'backward() reaches tensors computed outside this graph (before a graph break, or eagerly): the rest of it runs eagerly',
  );
  const pending = outside.map(([, g]) => g).filter((g): g is LazyTensor => g instanceof LazyTensor);
  rec.materialize(pending);
  withMode(null, () => backwardFrom(outside, retainGraph));
}
