/**
 * Autograd at a segment's edges: which of a planned graph's values carry a
 * gradient (its training spec, from the flags set at record time), and the
 * gradFn of each tensor it made real — its results (from the compiled
 * backward, ./run-training) and the views of them, which become eager view
 * nodes over their base as eager's views do.
 */
import type { BackwardNode, Tensor, ViewOp, ViewStep } from '@kiln/eager';
import { edgeOf, FunctionNode, setGradFn, viewNodes } from '@kiln/eager';
import type { TrainingSpec } from '../capture/graph-cache';
import { LazyTensor, Pin } from '../capture/lazy';
import type { SegmentPlan } from '../capture/segment';
import { carriesGrad } from './grad-flags';

export interface SegmentGrad {
  /** Null when none of the graph's results can receive a gradient. */
  readonly spec: TrainingSpec | null;
  /** Results that need grad but that a backward() inside the call already went through: a second pass is an error. */
  readonly usedUp: readonly number[];
}

const NONE: SegmentGrad = { spec: null, usedUp: [] };

const bits = (flags: readonly boolean[]) => flags.map((f) => (f ? '1' : '0')).join('');

/** The gradient flags of `plan`'s graph (a value a backward() in the call went through is cut off: its graph was used up). */
export function segmentGrad(plan: SegmentPlan): SegmentGrad {
  if (!plan.outputs.some((t) => t.needsGrad)) return NONE;
  const usedUp = new Set<LazyTensor>();
  for (const n of plan.nodes) if (n.consumed || n.args!.some((a) => a instanceof LazyTensor && usedUp.has(a))) usedUp.add(n);
  const carries = (n: LazyTensor) => n.needsGrad && !usedUp.has(n);
  const outputs = plan.outputs.map(carries);
  const stale = plan.outputs.flatMap((t, i) => (t.needsGrad && usedUp.has(t) ? [i] : []));
  if (!outputs.some(Boolean)) return { spec: null, usedUp: stale };
  const inputs = plan.origins.map(carriesGrad);
  const nodes = plan.nodes.map(carries);
  return { spec: { key: `${bits(inputs)}|${bits(nodes)}|${bits(outputs)}`, flags: { inputs, nodes, outputs } }, usedUp: stale };
}

/**
 * After the graph of `plan` ran and gave `results` (its outputs now real):
 * each output takes its result's gradFn, and those a backward() already
 * went through get one that says so when used.
 */
export function takeGradFns(plan: SegmentPlan, results: readonly Tensor[], grad: SegmentGrad, name: string): void {
  plan.outputs.forEach((t, i) => {
    const fn = results[i]!.gradFn;
    if (fn) setGradFn(t, fn);
  });
  if (grad.usedUp.length === 0) return;
  const metas = grad.usedUp.map((i) => plan.outputs[i]!);
  const node = new FunctionNode(name, [], metas, [], [], null);
  grad.usedUp.forEach((i, slot) => {
    const t = plan.outputs[i]!;
    setGradFn(t, node.output(slot));
    if (t.real === results[i]) setGradFn(results[i]!, node.output(slot));
  });
}

/** A view made real over its base: its gradFn is its view step over the base's edge (none when recorded without grad). */
export function takeViewGradFn(t: LazyTensor): void {
  const node = viewNode(t);
  if (node !== null) setGradFn(t, node);
}

function viewNode(t: LazyTensor): BackwardNode | null {
  const base = t.viewOf;
  if (!t.needsGrad || base === null) return null;
  const from = base instanceof Pin ? edgeOf(base.source) : base instanceof LazyTensor && base.real === null ? viewNode(base) : edgeOf(base);
  if (from === null) return null;
  const step: ViewStep = { op: t.op as ViewOp, attrs: t.attrs as ViewStep['attrs'], input: [...base.shape], output: [...t.shape] };
  return viewNodes(from, t, [step]);
}
