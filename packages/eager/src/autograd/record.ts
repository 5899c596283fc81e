/**
 * Recording: how the dispatcher runs an op when no mode is installed. With
 * grad mode on and an input that requires grad, the result gets a node of
 * the backward graph (./node) holding what the op's rule (./rules) saves.
 * Composites with a rule run their decomposition unrecorded and record one
 * node; the others are recorded through the ops their decomposition
 * dispatches. Views remember their base (./state), and in-place writes
 * rewrite the history of the tensor they write into (`writeInPlace`).
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { Input } from '../dispatch';
import { execute } from '../dispatch';
import { MOVEMENT } from '../ops/movement';
import type { AttrsOf, InputMeta, OpName, TensorMeta } from '../ops/table';
import { OPS } from '../ops/table';
import { Tensor } from '../tensor';
import { isGradEnabled, withGradMode } from './grad-mode';
import type { ViewOp, ViewStep } from './node';
import { GradNode, LeafEdge, metaOf } from './node';
import type { VjpRule } from './rules';
import { NOT_DIFFERENTIABLE, VJP } from './rules';
import { autogradActive, edgeOf, noteView, setGradFn, setViewGradFn, viewNodes, viewOf } from './state';

const inputMeta = (x: Input): InputMeta => (x instanceof Tensor ? metaOf(x) : x);

/** Runs `op` eagerly, recording it for backward when an input requires grad and grad mode is on. */
export function runRecorded<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor {
  if (!autogradActive()) return execute(op, inputs, attrs, meta);
  if (op === 'copy_' || op === 'fill_') return writeInPlace(op, inputs, attrs as AttrsOf['copy_' | 'fill_'], meta);
  const entry = VJP[op];
  const edges = isGradEnabled() && entry !== NOT_DIFFERENTIABLE ? inputs.map((x) => (x instanceof Tensor ? edgeOf(x) : null)) : null;
  if (edges === null || entry === 'decomposition' || !edges.some((e) => e !== null)) {
    return noteIfView(op, inputs, attrs, execute(op, inputs, attrs, meta));
  }
  let out =
    OPS[op].kind === 'composite' ? withGradMode(false, () => execute(op, inputs, attrs, meta), op) : execute(op, inputs, attrs, meta);
  if (out.dtype !== 'float32') return noteIfView(op, inputs, attrs, out);
  // A composite that returned an input (softmax over an empty dim) gives a tensor of its own.
  if (inputs.includes(out)) out = new Tensor(out.storage, out.layout);
  const rule = entry as VjpRule<N>;
  const needs = edges.map((e) => e !== null);
  const saves = typeof rule.save === 'function' ? rule.save(needs, attrs) : (rule.save ?? []);
  setGradFn(out, new GradNode(op, attrs, inputs.map(inputMeta), metaOf(out), edges, { inputs, saves, output: out }));
  return noteIfView(op, inputs, attrs, out);
}

/** A movement op (or `to` the same device) whose result shares its input's storage: remember the view. */
function noteIfView<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], out: Tensor): Tensor {
  const x = inputs[0];
  if ((op in MOVEMENT || op === 'to') && x instanceof Tensor && out !== x && out.storage === x.storage) {
    const step: ViewStep = { op: op as ViewOp, attrs: attrs as ViewStep['attrs'], input: [...x.shape], output: [...out.shape] };
    noteView(out, x, step);
  }
  return out;
}

/**
 * `copy_` / `fill_` with grad mode on (PyTorch's rules): writing into a
 * leaf that requires grad, or a view of one, is an error (optimizers write
 * inside `noGrad`). Otherwise the written tensor's base gets a new history,
 * "the old base with the written region replaced", and the view written
 * through sees it through its steps. A tensor saved for backward and then
 * written is caught by the saved version at backward time.
 */
function writeInPlace(op: 'copy_' | 'fill_', inputs: readonly Input[], attrs: AttrsOf['copy_' | 'fill_'], meta: TensorMeta): Tensor {
  const dst = inputs[0] as Tensor;
  const src = op === 'copy_' ? (inputs[1] as Tensor) : null;
  if (!isGradEnabled() || dst.dtype !== 'float32') return execute(op, inputs, attrs, meta);
  const view = viewOf(dst);
  const base = view?.base ?? dst;
  const baseEdge = edgeOf(base);
  const srcEdge = src && edgeOf(src);
  if (baseEdge === null && srcEdge === null) return execute(op, inputs, attrs, meta);
  if (baseEdge instanceof LeafEdge) {
    throw new KilnError(
      `${view ? `a view of a leaf tensor that requires grad (${base.describe()})` : `a leaf tensor that requires grad (${base.describe()})`} ` +
        'cannot be written in place with grad mode on; write it inside noGrad(() => ...) as optimizers do, or write into a clone()',
      { op },
    );
  }
  if (view?.noGrad && baseEdge !== null) {
    throw new KilnError(
      `this view of ${base.describe()} was made inside noGrad and its base requires grad: writing it in place with grad mode on would hide the write from backward; make the view with grad mode on, or write inside noGrad`,
      { op },
    );
  }
  execute(op, inputs, attrs, meta);
  const next = src ? [baseEdge, srcEdge] : [baseEdge];
  const metas = src ? [metaOf(base), metaOf(src)] : [metaOf(base)];
  const node = new GradNode(op, attrs, metas, metaOf(base), next, null, view?.steps ?? null);
  setGradFn(base, node);
  if (view) setViewGradFn(dst, viewNodes(node, base, view.steps), node);
  return dst;
}
