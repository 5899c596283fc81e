/**
 * `disable(f)`: `f` always runs eagerly. Called while a compiled function
 * is being captured, it is a graph break: the tensors it is given are
 * computed first, then `f` runs op by op on real tensors (an in-place write
 * it makes still computes, first, every pending tensor that reads the
 * memory it writes), and capture goes on after it returns.
 */

import type { AttrsOf, Input, Mode, OpName, TensorMeta } from '@kiln/eager';
import { runRecorded, Tensor, withMode } from '@kiln/eager';
import { activeRecorder, isAsyncFunction, runUnder } from './context';
import { LazyTensor } from './lazy';
import type { Recorder } from './recorder';
import { writesInPlace } from './tracing-rules';

export function disable<F extends (...args: never[]) => unknown>(f: F): F {
  const disabled = function (this: unknown, ...args: unknown[]): unknown {
    const rec = activeRecorder();
    const call = () => (f as unknown as (...a: unknown[]) => unknown).apply(this, args);
    if (!rec) return call();
    rec.graphBreak(
      'disabled',
      () => `call to ${f.name ? `${f.name}(), marked with disable(),` : 'a function marked with disable(),'} which runs eagerly`,
    );
    const lazies: LazyTensor[] = [];
    collectLazies(args, lazies, new Set());
    rec.materialize(lazies);
    return runUnder(watch(rec), isAsyncFunction(f), call);
  };
  Object.defineProperty(disabled, 'name', { value: f.name });
  return disabled as unknown as F;
}

/** A mode that runs every op eagerly (recorded for backward, as eager records it), computing what an in-place write would change first. */
function watch(rec: Recorder): Mode {
  return {
    call<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor {
      if (writesInPlace(op)) rec.beforeWrite((inputs[0] as Tensor).storage);
      return runRecorded(op, inputs, attrs, meta);
    },
    backward(t: Tensor, gradient: Tensor | null, retainGraph: boolean): void {
      withMode(null, () => t.backward(gradient, { retainGraph }));
    },
  };
}

function collectLazies(v: unknown, out: LazyTensor[], seen: Set<object>): void {
  if (v instanceof LazyTensor) {
    out.push(v);
    return;
  }
  if (v instanceof Tensor || typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) for (const x of v) collectLazies(x, out, seen);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectLazies(x, out, seen);
}
