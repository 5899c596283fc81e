/**
 * What a benchmark workload is: ordinary eager kiln code (a function, or a
 * module whose tensor fields are its parameters, as `compile` takes it), the
 * seeded inputs it runs on, and the same math written for each peer library
 * (TensorFlow.js, jax-js).
 */
import { type Device, Tensor } from '@kiln/eager';
import type { Jax, JaxFn } from '../lib/jax';
import type { Tf, TfTensor } from '../lib/tfjs';

/** A plain tensor function, as handed to `compile(fn)`. */
export type TensorFn = (...args: Tensor[]) => Tensor;

/** A module, as handed to `compile(module)`: `forward` with `this` bound to it; its tensor fields are parameters. */
export interface TensorModule {
  forward(...args: Tensor[]): Tensor;
}

export type Model = TensorFn | TensorModule;

/** One workload built for one device. */
export interface Instance {
  /** The call's arguments (activations). */
  readonly args: Tensor[];
  /** What a user writes and hands to `compile`. */
  readonly model: Model;
}

/** Element-wise tolerance: |a - b| <= atol + rtol * |b|. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface Workload {
  /** 'W1' ... 'W7'. */
  readonly id: string;
  readonly title: string;
  /** The size this mode runs, for the table (e.g. '[4194304]'). */
  size(quick: boolean): string;
  /** Builds inputs and parameters on `device`; seeded, so every device and run sees the same values. */
  make(device: Device, quick: boolean): Instance;
  /**
   * The same computation in TensorFlow.js. `args` and `params` hold the kiln
   * inputs' values (params by field name); constants it needs are made once
   * here, and the returned function is what is timed.
   */
  tfjs(tf: Tf, args: TfTensor[], params: Record<string, TfTensor>): () => TfTensor;
  /** Tolerance for the tfjs result against kiln eager, with the reason it is looser than kiln's own. */
  readonly tfjsTolerance: Tolerance & { why: string };
  /**
   * The same computation in jax-js, as a jax-js user hands it to `jit`: a
   * function of the inputs' values (`args`, and `params` by field name)
   * that consumes each once, as jax-js's ownership rule says.
   */
  jax(jax: Jax): JaxFn;
  /** Tolerance for the jax-js result against kiln eager, with the reason it is looser than kiln's own. */
  readonly jaxTolerance: Tolerance & { why: string };
  /** Floating-point operations of one call (for GFLOP/s), where meaningful. */
  flops?(quick: boolean): number;
}

/** Runs the model eagerly (a module's forward with `this` bound to it). */
export function callModel(model: Model, args: readonly Tensor[]): Tensor {
  return typeof model === 'function' ? model(...args) : model.forward(...args);
}

/**
 * A module's parameters: its tensor fields, by path (`ln1w`, and in child
 * modules and arrays of them `blocks.3.ln1w`). A function has none.
 */
export function parametersOf(model: Model): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const walk = (o: object, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (v instanceof Tensor) out[prefix + k] = v;
      else if (typeof v === 'object' && v !== null) walk(v, `${prefix}${k}.`);
    }
  };
  if (typeof model !== 'function') walk(model, '');
  return out;
}

/** Peers' default tolerance: same formulas, different kernels (summation order, exp/tanh implementations). */
export const PEER_TOLERANCE = { rtol: 1e-3, atol: 1e-4, why: 'another library: other summation orders and exp/tanh implementations' };
