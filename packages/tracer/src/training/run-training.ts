/**
 * Running a graph compiled for training (./compile-training): the forward
 * runs now and its results get a `FunctionNode` (from @kiln/eager's
 * autograd) holding what the partitioner chose to save; `backward()`
 * through any of them runs the compiled backward graph once, with the
 * gradients that reached every result.
 */
import type { Tensor } from '@kiln/eager';
import { edgeOf, FunctionNode, setGradFn, Tensor as TensorClass } from '@kiln/eager';
import type { TrainingGraphs } from './compile-training';

const metaOf = (t: Tensor) => ({ shape: [...t.shape], dtype: t.dtype, device: t.device });

/** `t`, or a handle of its own on the same memory when `t` is one of `taken` (so that disposing one leaves the other). */
function own(t: Tensor, taken: readonly Tensor[]): Tensor {
  return taken.includes(t) ? new TensorClass(t.storage, t.layout) : t;
}

/**
 * Runs `graphs`' forward on `inputs` and returns its results, those that
 * require grad with their gradFn set. `origins[i]` is the tensor the
 * caller holds for input `i` (its gradient goes where that tensor's does).
 */
export function runTraining(graphs: TrainingGraphs, name: string, inputs: readonly Tensor[], origins: readonly Tensor[]): Tensor[] {
  const outs = graphs.forward.run(inputs);
  const results = outs.slice(0, graphs.outputs);
  const saved = graphs.saved.map((s) => ('input' in s ? inputs[s.input]! : outs[s.output]!));
  const next = origins.map((o, i) => (graphs.backward.gradInputs.includes(i) ? edgeOf(o) : null));
  const node = new FunctionNode(
    name,
    inputs.map(metaOf),
    graphs.tangentOf.map((k) => metaOf(results[k]!)),
    next,
    saved,
    (grads, kept) => {
      const backward = graphs.backwardFor(grads.map((g) => g !== null));
      const args = [...kept, ...grads.filter((g): g is Tensor => g !== null)];
      const gradOuts = backward.run(args);
      const byInput: (Tensor | null)[] = inputs.map(() => null);
      backward.gradInputs.forEach((i, k) => {
        byInput[i] = own(gradOuts[k]!, args);
      });
      return byInput;
    },
  );
  // The node keeps its own handles on what it saved.
  for (let k = graphs.outputs; k < outs.length; k++) if (!inputs.includes(outs[k]!)) outs[k]!.dispose();
  graphs.tangentOf.forEach((k, slot) => {
    // A result that is an input, or another result too, gets a handle of its own: each has its own gradFn.
    const r = own(results[k]!, [...inputs, ...results.filter((_, j) => j !== k)]);
    results[k] = r;
    setGradFn(r, node.output(slot));
  });
  return results;
}
