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
import { partition } from './partition';

/** One compiled half. */
export interface CompiledHalf {
  readonly graph: TracedGraph;
  readonly run: CompiledFn;
  readonly kernels: readonly KernelInfo[];
  readonly note?: string;
  readonly decisions?: readonly string[];
}

/** A graph compiled for training: what its forward returns and saves, and its backward. */
export interface TrainingGraphs {
  /** Outputs: the captured graph's outputs, then saved values. */
  readonly forward: CompiledHalf;
  /** Inputs: the saved values, then one gradient per tangent; outputs: the gradients of `gradInputs`. */
  readonly backward: CompiledHalf;
  readonly saved: readonly SavedSource[];
  /** The output each tangent is the gradient of. */
  readonly tangentOf: readonly number[];
  /** The input each gradient is for. */
  readonly gradInputs: readonly number[];
  /** How many of the forward's outputs are the captured graph's. */
  readonly outputs: number;
  readonly report: PartitionReport;
}

function compileHalf(backend: ResolvedBackend, graph: TracedGraph, examples: readonly Tensor[]): CompiledHalf {
  const c = backend.compile(graph, examples);
  return { graph, run: c.run, kernels: c.kernels, ...(c.note ? { note: c.note } : {}), ...(c.decisions ? { decisions: c.decisions } : {}) };
}

/**
 * `graph` (captured at fixed sizes) compiled for training with the gradient
 * flags `flags`. The backward is compiled now, before any gradient exists:
 * a backend function gets symbolic example inputs for it (shape, dtype and
 * device; no data).
 */
export function compileTraining(
  backend: ResolvedBackend,
  graph: TracedGraph,
  flags: GradFlags,
  examples: readonly Tensor[],
): TrainingGraphs {
  const joint = jointGraph(graph, flags);
  const p = partition(joint);
  const symbolic = p.backward.placeholders.map((m) => new TensorClass(metaStorage(m.device, m.dtype, 0), views.contiguousView(m.shape)));
  return {
    forward: compileHalf(backend, p.forward, examples),
    backward: compileHalf(backend, p.backward, symbolic),
    saved: p.saved,
    tangentOf: joint.tangentOf,
    gradInputs: joint.gradInputs,
    outputs: joint.forwardOutputs,
    report: p.report,
  };
}
