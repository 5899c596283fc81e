/**
 * What the inductor does not compile, as a type: an op it cannot lower
 * becomes an extern (its eager kernel, run between fused kernels), and a
 * graph it cannot compile at all runs op by op in the tracer. Anything else
 * the inductor throws is a bug, and surfaces as one.
 */
import { KilnError } from '@kiln/eager';

export class NotCompiled extends KilnError {
  constructor(
    /** What is not compiled and why, in the user's words. */
    readonly reason: string,
  ) {
    super(reason, { op: 'inductor' });
  }
}
