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
import type { Edge } from './node';
import { BackwardNode, LeafEdge } from './node';
import { sumTo } from './rules';
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
  checkGradient(t, gradient);
  const mode = getMode();
  if (mode) {
    // Inside a compiled function: the tracer takes the backward pass into its graph.
    if (!mode.backward) throw new KilnError('not supported under this dispatcher mode; call it outside', { op: 'backward' });
    mode.backward(t, gradient ?? null, retainGraph);
    return;
  }
  const root = edgeOf(t);
  if (root === null) throw noGradError(t);
  const seed = gradient ?? full(t.shape, 1, { device: t.device });
  run([[root, seed]], retainGraph, null);
  if (seed !== gradient) seed.dispose();
}

/** The error of backward() on a tensor that does not require grad. */
export function noGradError(t: Tensor): KilnError {
  return new KilnError(
    `${t.describe()} does not require grad: nothing it was computed from requires grad (create inputs with { requiresGrad: true } ` +
      'or call requiresGrad_()), or it was computed inside noGrad',
    { op: 'backward' },
  );
}

/** backward()'s checks of `gradient`: omitted only for a one-element `t`, else a live float32 tensor of `t`'s shape and device. */
export function checkGradient(t: Tensor, gradient: Tensor | null | undefined): void {
  if (gradient === undefined || gradient === null) {
    if (t.numel !== 1) {
      throw new KilnError(
        `a gradient can be implied only for a one-element output; pass backward(gradient) with one of shape ${shapeStr(t.shape)} for ${t.describe()}`,
        { op: 'backward' },
      );
    }
    return;
  }
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
}

/**
 * PyTorch's `torch.autograd.backward(tensors, grads)`: one backward pass
 * from several tensors, each with its gradient (a compiled function's
 * backward() continues here into history made outside its graph).
 */
export function backwardFrom(seeds: readonly (readonly [Tensor, Tensor])[], retainGraph = false): void {
  const roots = seeds.flatMap(([t, g]): [Edge, Tensor][] => {
    const e = edgeOf(t);
    return e === null ? [] : [[e, g]];
  });
  if (roots.length > 0) run(roots, retainGraph, null);
}

/** The gradients of a one-element `output` at the leaf edges `targets` (null where none arrives); no `.grad` is touched. */
export function backwardGradients(output: Tensor, targets: readonly LeafEdge[]): (Tensor | null)[] {
  notTracing('grad');
  const root = edgeOf(output);
  if (root === null) return targets.map(() => null);
  const seed = full(output.shape, 1, { device: output.device });
  try {
    return run([[root, seed]], false, targets);
  } finally {
    seed.dispose();
  }
}

function notTracing(op: string): void {
  if (getMode()) {
    throw new KilnError(
      'not supported inside a compiled function yet (backward() is: call it and read the .grad of the arguments instead); call it outside',
      { op },
    );
  }
}

/**
 * The pass itself. With `targets`, only the nodes that lead to them run,
 * and their gradients are returned instead of accumulated.
 */
function run(roots: readonly (readonly [Edge, Tensor])[], retainGraph: boolean, targets: readonly LeafEdge[] | null): (Tensor | null)[] {
  const wanted = targets && new Set<Edge>(targets);
  const nodes = reachable(
    roots.map(([e]) => e),
    wanted,
  );
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
        for (const [e, seed] of roots) add(e, seed);
        for (const node of nodes) {
          const g = grads.get(node);
          if (g === undefined && !node.gathers) continue;
          grads.delete(node);
          if (!wanted && g) for (const t of node.retained ?? []) accumulate(t, g, false);
          const needs = node.next.map((e) => e !== null && (!wanted || wanted.has(e)));
          const inputGrads = tidy(() => applyRule(node, g ?? null, needs));
          inputGrads.forEach((gi, i) => {
            if (gi) add(node.next[i]!, gi);
          });
          for (const gi of inputGrads) gi?.dispose();
          g?.dispose();
          if (!retainGraph) node.freeSaved(true);
        }
        if (wanted) return targets!.map((e) => grads.get(e) ?? null);
        for (const [e, g] of grads) if (e instanceof LeafEdge) accumulate(e.tensor, g, true);
        return [];
      }),
    'backward',
  );
}

/** The nodes reachable from `roots` (that lead to a wanted edge, when given), latest first. */
function reachable(roots: readonly Edge[], wanted: Set<Edge> | null): BackwardNode[] {
  const seen = new Set<BackwardNode>();
  const stack = roots.filter((e): e is BackwardNode => e instanceof BackwardNode);
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.next) if (e instanceof BackwardNode && !seen.has(e)) stack.push(e);
  }
  const nodes = [...seen].sort((a, b) => a.seq - b.seq);
  if (wanted) {
    // Earliest first, so a node's inputs are decided before it.
    for (const n of nodes) if (n.next.some((e) => e !== null && wanted.has(e))) wanted.add(n);
    return nodes.filter((n) => wanted.has(n)).reverse();
  }
  return nodes.reverse();
}

/** The node's gradients from `g`, each input's summed to its shape and checked. */
function applyRule(node: BackwardNode, g: Tensor | null, needs: readonly boolean[]): (Tensor | null)[] {
  const grads = node.apply(g, needs);
  return node.next.map((_, i) => {
    const gi = grads[i];
    if (!needs[i] || !gi) return null;
    return checkedGradient(gi, node.inputs[i] as TensorMeta, `${node} input ${i}`);
  });
}

/** A rule's gradient for an input of `meta`, summed to its shape where it was broadcast, and checked (`what` names the input). */
export function checkedGradient(g: Tensor, meta: TensorMeta, what: string): Tensor {
  const summed = sumTo(g, meta.shape);
  if (shapeStr(summed.shape) !== shapeStr(meta.shape) || summed.dtype !== 'float32' || summed.device !== meta.device) {
    throw new KilnError(
      `internal: backward gave ${summed.describe()} as the gradient of ${what}, ${meta.dtype}${shapeStr(meta.shape)} on ${meta.device}`,
      { op: 'backward' },
    );
  }
  return summed;
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
