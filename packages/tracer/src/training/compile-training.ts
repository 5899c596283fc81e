/**
 * Compiling a captured graph for training: the joint forward + backward
 * graph (./joint), cut by the partitioner (./partition) into a forward and
 * a backward graph, each compiled by the same backend (so the backward
 * runs the inductor's fused kernels too).
 */
import type { Tensor } from '@kiln/eager';
import { metaStorage, Tensor as TensorClass, views } from '@kiln/eager';
import type { CompiledFn, KernelInfo, ResolvedBackend, TracedGraph } from '../backend';
import type { GradFlags } from './joint';
import { jointGraph } from './joint';
import type { PartitionReport, SavedSource } from './partition';
import { backwardGraph, partition } from './partition';

/** One compiled half. */
export interface CompiledHalf {
  readonly graph: TracedGraph;
  readonly run: CompiledFn;
  readonly kernels: readonly KernelInfo[];
  readonly note?: string;
  readonly decisions?: readonly string[];
  /** Where its kernels run (the inductor's target). */
  readonly target?: string;
}

/** A compiled backward: inputs, the saved values then the gradients of some results; outputs, the gradients of `gradInputs`. */
export interface BackwardHalf extends CompiledHalf {
  /** The input each gradient is for (those the results' gradients reach). */
  readonly gradInputs: readonly number[];
}

/** A graph compiled for training: what its forward returns and saves, and its backward. */
export interface TrainingGraphs {
  /** Outputs: the captured graph's outputs, then saved values. */
  readonly forward: CompiledHalf;
  /** The backward when every result's gradient (`tangentOf`) arrives. */
  readonly backward: BackwardHalf;
  /**
   * The backward for the results whose gradients arrived (by position in
   * `tangentOf`): a gradient that never arrived must not reach any input,
   * not even as zeros (0 times an infinite local derivative is NaN), as in
   * eager. Compiled on first use for each such set.
   */
  backwardFor(arrived: readonly boolean[]): BackwardHalf;
  readonly saved: readonly SavedSource[];
  /** The output each tangent is the gradient of. */
  readonly tangentOf: readonly number[];
  /** How many of the forward's outputs are the captured graph's. */
  readonly outputs: number;
  readonly report: PartitionReport;
}

function compileHalf(backend: ResolvedBackend, graph: TracedGraph, examples: readonly Tensor[]): CompiledHalf {
  const c = backend.compile(graph, examples);
  return {
    graph,
    run: c.run,
    kernels: c.kernels,
    ...(c.note ? { note: c.note } : {}),
    ...(c.decisions ? { decisions: c.decisions } : {}),
    ...(c.target ? { target: c.target } : {}),
  };
}

/** A backward graph compiled before any gradient exists: a backend function gets symbolic example inputs (shape, dtype and device; no data). */
function compileBackward(backend: ResolvedBackend, graph: TracedGraph, gradInputs: readonly number[]): BackwardHalf {
  const symbolic = graph.placeholders.map((m) => new TensorClass(metaStorage(m.device, m.dtype, 0), views.contiguousView(m.shape)));
  return { ...compileHalf(backend, graph, symbolic), gradInputs };
}

/** `graph` (captured at fixed sizes) compiled for training with the gradient flags `flags`. */
export function compileTraining(
  backend: ResolvedBackend,
  graph: TracedGraph,
  flags: GradFlags,
  examples: readonly Tensor[],
): TrainingGraphs {
  const joint = jointGraph(graph, flags);
  const p = partition(joint);
  const all = compileBackward(backend, p.backward, joint.gradInputs);
  const variants = new Map<string, BackwardHalf>([[joint.tangentOf.map(() => '1').join(''), all]]);
  return {
    forward: compileHalf(backend, p.forward, examples),
    backward: all,
    backwardFor(arrived) {
      const key = arrived.map((a) => (a ? '1' : '0')).join('');
      let half = variants.get(key);
      if (!half) {
        // The same forward and saved values; tangents only for the results whose gradients arrived.
        const outputs = flags.outputs.map((f, o) => f && arrived[joint.tangentOf.indexOf(o)] === true);
        const some = jointGraph(graph, { ...flags, outputs });
        half = compileBackward(backend, backwardGraph(some, p.savedValues), some.gradInputs);
        variants.set(key, half);
      }
      return half;
    },
    saved: p.saved,
    tangentOf: joint.tangentOf,
    outputs: joint.forwardOutputs,
    report: p.report,
  };
}
