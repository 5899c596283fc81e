/**
 * Each tensor's autograd state, kept beside it (tensors that never take
 * part in autograd have none): whether a leaf requires grad, the node that
 * made a non-leaf (`gradFn`), `.grad`, and for views the base and the
 * steps from it.
 *
 * Views and in-place writes (PyTorch's rules): writing into a view
 * rewrites its base's history (the base becomes "the old base with this
 * region replaced", see ./record), so the base's `gradFn` changes. Every
 * view of that base then derives its own `gradFn` anew from the base's
 * current one, when next used: `edgeOf` compares the base's edge with the
 * one the view was derived from.
 *
 * Cost: nothing is kept, and views are not tracked, until the first tensor
 * requires grad (`active`); programs that never use autograd pay a flag
 * test per op. (A view made before that and written in place after, with a
 * source that requires grad, writes only itself, not its base's history.)
 */
import { KilnError } from '@kiln/gpu-runtime';
import { show } from '../checks';
import { Tensor } from '../tensor';
import { shapeStr } from '../view';
import { isGradEnabled } from './grad-mode';
import type { Edge, ViewStep } from './node';
import { BackwardNode, GradNode, LeafEdge, metaOf, releaseNode } from './node';

interface ViewInfo {
  /** The tensor this is a view of (never itself a view); dropped with the view's state on dispose. */
  readonly base: Tensor;
  readonly steps: readonly ViewStep[];
  /** The base's edge when this view's gradFn was derived. */
  derivedFrom: Edge | null;
  /** Made with grad mode off: never derives a gradFn (PyTorch's no-grad views), and not writable in place if its base requires grad. */
  readonly noGrad: boolean;
}

interface GradState {
  /** A leaf that requires grad (non-leaves require grad through `gradFn`). */
  requiresGrad: boolean;
  gradFn: BackwardNode | null;
  grad: Tensor | null;
  /** `grad` was made by backward (not assigned): it is disposed when replaced, set to null or its tensor disposed. */
  ownsGrad: boolean;
  retainsGrad: boolean;
  leaf?: LeafEdge;
  view?: ViewInfo;
}

const states = new WeakMap<Tensor, GradState>();

/** Some tensor has required grad: from then on ops look up their inputs' state and views are tracked. */
let active = false;

/** Whether any tensor has required grad yet (before, no op needs to look at autograd state). */
export function autogradActive(): boolean {
  return active;
}

function stateOf(t: Tensor): GradState {
  let s = states.get(t);
  if (s === undefined) states.set(t, (s = { requiresGrad: false, gradFn: null, grad: null, ownsGrad: false, retainsGrad: false }));
  return s;
}

/** Where `t`'s gradient goes: its gradFn, its leaf edge when it is a leaf that requires grad, else null (no grad). */
export function edgeOf(t: Tensor): Edge | null {
  if (!active) return null;
  const s = states.get(t);
  if (s === undefined) return null;
  if (s.view && !s.view.noGrad) derive(t, s.view);
  if (s.gradFn) return s.gradFn;
  if (!s.requiresGrad) return null;
  return (s.leaf ??= new LeafEdge(t));
}

/** A view's gradFn from its base's current edge, when the base was written in place since. */
function derive(t: Tensor, v: ViewInfo): void {
  const base = v.base;
  if (base.isDisposed) return;
  const current = edgeOf(base);
  if (current === v.derivedFrom) return;
  v.derivedFrom = current;
  setGradFn(t, current && viewNodes(current, base, v.steps));
}

/** The nodes of `steps` applied to the tensor whose edge is `from` (movement rules save nothing, so metas suffice). */
export function viewNodes(from: Edge, base: Tensor, steps: readonly ViewStep[]): GradNode {
  let edge = from;
  for (const step of steps) {
    const meta = (shape: readonly number[]) => metaOf({ shape, dtype: base.dtype, device: base.device });
    edge = new GradNode(step.op, step.attrs, [meta(step.input)], meta(step.output), [edge], null);
  }
  return edge as GradNode;
}

export function gradFnOf(t: Tensor): BackwardNode | null {
  const e = edgeOf(t);
  return e instanceof BackwardNode ? e : null;
}

export function setGradFn(t: Tensor, node: BackwardNode | null): void {
  const s = stateOf(t);
  if (s.gradFn === node) return;
  if (s.gradFn) {
    s.gradFn.retained?.delete(t);
    releaseNode(s.gradFn);
  }
  s.gradFn = node;
  if (node) {
    active = true;
    node.refs++;
    if (s.retainsGrad) (node.retained ??= new Set()).add(t);
  }
}

/** `t` is a view of `x` by `step` (same storage): remember its base and steps, for in-place writes through it. */
export function noteView(t: Tensor, x: Tensor, step: ViewStep): void {
  if (!active) return;
  const xv = states.get(x)?.view;
  const base = xv?.base ?? x;
  const steps = xv ? [...xv.steps, step] : [step];
  stateOf(t).view = {
    base,
    steps,
    derivedFrom: edgeOf(base),
    noGrad: !isGradEnabled() || (xv?.noGrad ?? false),
  };
}

/** After a write through the view `t`: its gradFn is `node` (the base's new history seen through the view's steps). */
export function setViewGradFn(t: Tensor, node: BackwardNode, baseEdge: Edge): void {
  setGradFn(t, node);
  const v = states.get(t)?.view;
  if (v) v.derivedFrom = baseEdge;
}

/** `t`'s live base and steps when it is a view of a tensor not disposed; else null. */
export function viewOf(t: Tensor): { base: Tensor; steps: readonly ViewStep[]; noGrad: boolean } | null {
  const v = states.get(t)?.view;
  return v && !v.base.isDisposed ? { base: v.base, steps: v.steps, noGrad: v.noGrad } : null;
}

/** `t` no longer counts as a view for autograd (`detach()`, and a view made a leaf by `requiresGrad_()`). */
export function forgetView(t: Tensor): void {
  const s = states.get(t);
  if (s) s.view = undefined;
}

export function requiresGrad(t: Tensor): boolean {
  return edgeOf(t) !== null;
}

export function isLeaf(t: Tensor): boolean {
  return gradFnOf(t) === null;
}

/** PyTorch's `requires_grad_()`: marks a leaf (only float32 tensors can require grad; a non-leaf cannot stop). */
export function setRequiresGrad(t: Tensor, flag: boolean, op = 'requiresGrad_'): void {
  if (typeof flag !== 'boolean') throw new KilnError(`requiresGrad must be true or false, got ${String(flag)}`, { op });
  const fn = gradFnOf(t);
  if (fn) {
    if (flag) return;
    throw new KilnError(
      `${t.describe()} is not a leaf (it was made by ${fn instanceof GradNode ? fn.op : fn}); only leaves can stop requiring grad. Use detach() for a tensor without history`,
      { op },
    );
  }
  if (flag && t.dtype !== 'float32') {
    throw new KilnError(`only float32 tensors can require gradients, got ${t.describe()}`, { op });
  }
  const s = stateOf(t);
  s.view = undefined; // a view that becomes a leaf is a tensor of its own for autograd
  s.requiresGrad = flag;
  active ||= flag;
}

export function getGrad(t: Tensor): Tensor | null {
  return states.get(t)?.grad ?? null;
}

/**
 * Sets `.grad`: null, or a tensor of `t`'s shape, dtype and device
 * (PyTorch's check). A gradient backward made (`owned`) is disposed when
 * it is replaced or cleared: kiln made it, and it must not wait for the
 * garbage collector to give device memory back.
 */
export function setGrad(t: Tensor, g: Tensor | null, owned = false): void {
  if (g !== null) {
    const fits =
      g instanceof Tensor && !g.isDisposed && shapeStr(g.shape) === shapeStr(t.shape) && g.dtype === t.dtype && g.device === t.device;
    if (!fits) {
      throw new KilnError(`the gradient must match the tensor ${t.describe()}, got ${show(g)}`, { op: 'grad' });
    }
  } else if (!states.has(t)) return;
  const s = stateOf(t);
  if (s.grad !== g && s.ownsGrad) s.grad?.dispose();
  s.grad = g;
  s.ownsGrad = owned && g !== null;
}

/** PyTorch's `retain_grad()`: a non-leaf keeps the gradient backward() gives it in `.grad`. */
export function retainGrad(t: Tensor): void {
  const fn = gradFnOf(t);
  if (fn === null) {
    if (requiresGrad(t)) return; // leaves keep their grad anyway
    throw new KilnError(`cannot retain the grad of ${t.describe()}: it does not require grad`, { op: 'retainGrad' });
  }
  const s = stateOf(t);
  s.retainsGrad = true;
  (fn.retained ??= new Set()).add(t);
}

export function retainsGrad(t: Tensor): boolean {
  return states.get(t)?.retainsGrad ?? false;
}

/** On `dispose()`: drops `t`'s reference to its graph (freeing what nothing else uses) and disposes its `.grad`. */
export function releaseGradState(t: Tensor): void {
  const s = states.get(t);
  if (s === undefined) return;
  setGradFn(t, null);
  if (s.ownsGrad) s.grad?.dispose();
  states.delete(t);
}
