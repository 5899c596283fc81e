/**
 * The backward pass: from a tensor's node, every node that leads to it is
 * visited once, in reverse creation order (a topological order: edges
 * always point at earlier nodes), with grad mode off. Each node's rule
 * turns the sum of the gradients that reached it into its inputs'
 * gradients (summed to their shapes where they were broadcast); leaves add
 * theirs to `.grad`. Gradients are freed as soon as they are used, and the
 * nodes' saved tensors after their rule ran, unless `retainGraph`.
 */
import { KilnError } from '@kiln/gpu-runtime';
import { BOOL, checkArg, checkOptions } from '../checks';
import { full } from '../creation';
import { getMode } from '../dispatch';
import { keep, tidy } from '../memory';
import type { TensorMeta } from '../ops/table';
import { Tensor } from '../tensor';
import { isContiguous, shapeStr } from '../view';
import { withGradMode } from './grad-mode';
import type { Edge, VjpContext } from './node';
import { GradNode, LeafEdge } from './node';
import type { VjpRule } from './rules';
import { sumTo, VJP } from './rules';
import { edgeOf, getGrad, setGrad } from './state';

export interface BackwardOptions {
  /** Keep the tensors the graph saved, to call backward through it again (PyTorch's retain_graph). */
  retainGraph?: boolean;
}

/**
 * PyTorch's `t.backward(gradient?)`: adds d(t · gradient)/d(leaf) to the
 * `.grad` of every leaf that requires grad (and of non-leaves that
 * `retainGrad()`). `gradient` may be omitted for a one-element `t`.
 */
export function backward(t: Tensor, gradient?: Tensor | null, options?: BackwardOptions): void {
  const o = checkOptions('backward', options, ['retainGraph']);
  const retainGraph = o.retainGraph === undefined ? false : checkArg('backward', 'retainGraph', o.retainGraph, BOOL);
  notTracing('backward');
  const root = edgeOf(t);
  if (root === null) {
    throw new KilnError(
      `${t.describe()} does not require grad: nothing it was computed from requires grad (create inputs with { requiresGrad: true } ` +
        'or call requiresGrad_()), or it was computed inside noGrad or by a compiled function (compiled training is a later step)',
      { op: 'backward' },
    );
  }
  let seed: Tensor;
  if (gradient === undefined || gradient === null) {
    if (t.numel !== 1) {
      throw new KilnError(
        `a gradient can be implied only for a one-element output; pass backward(gradient) with one of shape ${shapeStr(t.shape)} for ${t.describe()}`,
        {
          op: 'backward',
        },
      );
    }
    seed = full(t.shape, 1, { device: t.device });
  } else {
    if (!(gradient instanceof Tensor) || gradient.isDisposed) {
      throw new KilnError(`gradient must be a live Tensor, got ${gradient instanceof Tensor ? gradient.describe() : typeof gradient}`, {
        op: 'backward',
      });
    }
    if (shapeStr(gradient.shape) !== shapeStr(t.shape) || gradient.dtype !== 'float32' || gradient.device !== t.device) {
      throw new KilnError(
        `grad of shape ${shapeStr(gradient.shape)} (${gradient.dtype} on ${gradient.device}) does not match output ${t.dtype}${shapeStr(t.shape)} on ${t.device}`,
        { op: 'backward' },
      );
    }
    seed = gradient;
  }
  run(root, seed, retainGraph, null);
  if (seed !== gradient) seed.dispose();
}

/** The gradients of a one-element `output` at the leaf edges `targets` (null where none arrives); no `.grad` is touched. */
export function backwardGradients(output: Tensor, targets: readonly LeafEdge[]): (Tensor | null)[] {
  notTracing('grad');
  const root = edgeOf(output);
  if (root === null) return targets.map(() => null);
  const seed = full(output.shape, 1, { device: output.device });
  try {
    return run(root, seed, false, targets);
  } finally {
    seed.dispose();
  }
}

function notTracing(op: string): void {
  if (getMode()) {
    throw new KilnError('not supported inside a compiled function yet (compiled training is a later step); call it outside', { op });
  }
}

/**
 * The pass itself. With `targets`, only the nodes that lead to them run,
 * and their gradients are returned instead of accumulated.
 */
function run(root: Edge, seed: Tensor, retainGraph: boolean, targets: readonly LeafEdge[] | null): (Tensor | null)[] {
  const wanted = targets && new Set<Edge>(targets);
  const nodes = reachable(root, wanted);
  return withGradMode(
    false,
    () =>
      tidy(() => {
        const grads = new Map<Edge, Tensor>();
        const add = (e: Edge, g: Tensor) => {
          const prev = grads.get(e);
          grads.set(e, prev ? prev.add(g) : new Tensor(g.storage, g.layout));
          prev?.dispose();
        };
        add(root, seed);
        for (const node of nodes) {
          const g = grads.get(node);
          if (g === undefined) continue;
          grads.delete(node);
          if (!wanted) for (const t of node.retained ?? []) accumulate(t, g, false);
          const needs = node.next.map((e) => e !== null && (!wanted || wanted.has(e)));
          const inputGrads = tidy(() => applyRule(node, g, needs));
          inputGrads.forEach((gi, i) => {
            if (gi) add(node.next[i]!, gi);
          });
          for (const gi of inputGrads) gi?.dispose();
          g.dispose();
          if (!retainGraph) node.freeSaved(true);
        }
        if (wanted) return targets!.map((e) => grads.get(e) ?? null);
        for (const [e, g] of grads) if (e instanceof LeafEdge) accumulate(e.tensor, g, true);
        return [];
      }),
    'backward',
  );
}

/** The nodes reachable from `root` (that lead to a wanted edge, when given), latest first. */
function reachable(root: Edge, wanted: Set<Edge> | null): GradNode[] {
  const seen = new Set<GradNode>();
  const stack = root instanceof GradNode ? [root] : [];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.next) if (e instanceof GradNode && !seen.has(e)) stack.push(e);
  }
  const nodes = [...seen].sort((a, b) => a.seq - b.seq);
  if (wanted) {
    // Earliest first, so a node's inputs are decided before it.
    for (const n of nodes) if (n.next.some((e) => e !== null && wanted.has(e))) wanted.add(n);
    return nodes.filter((n) => wanted.has(n)).reverse();
  }
  return nodes.reverse();
}

/** The node's rule on `g`, each input's gradient summed to its shape and checked. */
function applyRule(node: GradNode, g: Tensor, needs: readonly boolean[]): (Tensor | null)[] {
  const rule = VJP[node.op] as VjpRule<typeof node.op> | string;
  if (typeof rule === 'string') throw new KilnError(`internal: a node was recorded for ${node.op}, which has no rule`, { op: 'backward' });
  const ctx: VjpContext = {
    op: node.op,
    attrs: node.attrs,
    inputs: node.inputs,
    output: node.output,
    needs,
    view: node.view,
    input: (i) => node.input(i),
    result: () => node.result(),
  };
  const grads = rule.vjp(g, ctx as never);
  return node.next.map((_, i) => {
    const gi = grads[i];
    if (!needs[i] || !gi) return null;
    const meta = node.inputs[i] as TensorMeta;
    const summed = sumTo(gi, meta.shape);
    if (shapeStr(summed.shape) !== shapeStr(meta.shape) || summed.dtype !== 'float32' || summed.device !== meta.device) {
      throw new KilnError(
        `internal: the rule of ${node.op} gave ${summed.describe()} as the gradient of input ${i}, ${meta.dtype}${shapeStr(meta.shape)} on ${meta.device}`,
        { op: 'backward' },
      );
    }
    return summed;
  });
}

/**
 * Adds `g` to `t.grad` in place (PyTorch accumulates so), or makes it
 * `t.grad`: the engine's own contiguous buffer is adopted when `owned`, else
 * copied. Gradients outlive any tidy (they belong to their tensor).
 */
function accumulate(t: Tensor, g: Tensor, owned: boolean): void {
  if (t.isDisposed) return;
  const prev = getGrad(t);
  if (prev && !prev.isDisposed) {
    tidy(() => {
      prev.copy_(prev.add(g));
    });
    return;
  }
  const adopt = owned && g.storage.refs === 1 && isContiguous(g.layout) && g.offset === 0 && g.numel === g.storage.numel;
  setGrad(t, keep(adopt ? g : g.clone()), true);
}
