/**
 * Grad mode: whether ops record the graph that `backward()` walks
 * (PyTorch's `torch.no_grad` / `torch.enable_grad`). On by default; the
 * backward pass, optimizers and parameter initialization run with it off.
 */
import { KilnError } from '@kiln/gpu-runtime';

let enabled = true;

/** Whether ops on tensors that require grad are recorded for backward now. */
export function isGradEnabled(): boolean {
  return enabled;
}

/** Runs `fn` with grad mode set to `on`, restoring the previous mode afterwards. `fn` must be synchronous. */
export function withGradMode<T>(on: boolean, fn: () => T, op: string): T {
  const prev = enabled;
  enabled = on;
  let result: T;
  try {
    result = fn();
  } finally {
    enabled = prev;
  }
  if (result instanceof Promise) {
    throw new KilnError('fn returned a Promise; grad mode only covers synchronous code (its awaited part ran with the outer mode)', { op });
  }
  return result;
}

/** Runs `fn` without recording for backward (PyTorch's `with torch.no_grad():`): results do not require grad. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn, 'noGrad');
}

/** Runs `fn` with recording on, also inside `noGrad` (PyTorch's `with torch.enable_grad():`). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn, 'enableGrad');
}
