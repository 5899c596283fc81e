/**
 * Which traced values carry a gradient: what eager would record for
 * backward. A recorded op's result needs grad when grad mode is on, the op
 * is differentiable, its result is float32 and one of its operands carries
 * a gradient (a pending tensor that needs one, or a real tensor that
 * requires grad) — eager's rule (`runRecorded`), decided at record time so
 * that `noGrad` blocks inside a compiled function cut the graph as they do
 * in eager.
 */
import type { OpName, TensorMeta } from '@kiln/eager';
import { isGradEnabled, NOT_DIFFERENTIABLE, Tensor, VJP } from '@kiln/eager';
import type { LazyArg } from '../capture/lazy';
import { LazyTensor, Pin } from '../capture/lazy';

/** Whether an operand carries a gradient. */
export function carriesGrad(a: LazyArg): boolean {
  if (!(a instanceof Tensor)) return false;
  if (a instanceof LazyTensor) return a.requiresGrad;
  return (a instanceof Pin ? a.source : a).requiresGrad;
}

/** Whether the result of `op` on `args` needs grad (eager would give it a gradFn). */
export function resultNeedsGrad(op: OpName, args: readonly LazyArg[], meta: TensorMeta): boolean {
  if (!isGradEnabled() || meta.dtype !== 'float32' || VJP[op] === NOT_DIFFERENTIABLE) return false;
  for (const a of args) if (carriesGrad(a)) return true;
  return false;
}
