import type { DType } from '../dtype';
import { REDUCTIONS, type ReduceOp } from '../ops/reductions';
import { convert, VALUE_TYPE } from '../wgsl';

/**
 * The WGSL statements of one row reduction, from the op's template
 * (../ops/reductions), shared by eager's reduction kernel and the compiler's
 * row kernels. The accumulator is named `acc`, argmax/argmin also track its
 * position in `idx` (-1: nothing yet; ties go to the earliest); a partial
 * from another thread is `${acc}2` / `${idx}2`. The loop index is `j`.
 * `out` is the result's dtype (by default the op's for math dtype `t`).
 */
export interface ReductionStatements {
  declare: string;
  /** Folds value `v` at position `j` in. */
  update(v: string): string;
  /** Folds the partial `${acc}2` (and `${idx}2`) in (workgroup strategy). */
  combine: string;
  /** Whether a position is tracked (it must be exchanged with partials too). */
  tracked: boolean;
  /** The finished value, in the op's output dtype. */
  result: string;
}

export function reductionStatements(
  op: ReduceOp,
  t: DType,
  acc = 'acc',
  idx = 'idx',
  out: DType = REDUCTIONS[op].out(t),
): ReductionStatements {
  const spec = REDUCTIONS[op];
  const step = (a: string, x: string) => spec.wgsl.step(a, x, t);
  // Plain max/min keep only the value: -inf stays -inf, and NaN wins by the step itself.
  const tracked = spec.index;
  const select = spec.mode === 'select';
  const [a2, i2] = [`${acc}2`, `${idx}2`];
  return {
    declare: `var ${acc}: ${VALUE_TYPE[t]} = ${spec.wgsl.init(t)};${tracked ? ` var ${idx}: i32 = -1;` : ''}`,
    update: (v) =>
      tracked
        ? `if (${idx} < 0 || ${step(acc, v)}) { ${acc} = ${v}; ${idx} = i32(j); }`
        : select
          ? `if (${step(acc, v)}) { ${acc} = ${v}; }`
          : `${acc} = ${step(acc, v)};`,
    combine: tracked
      ? `if (${i2} >= 0 && (${idx} < 0 || ${step(acc, a2)} || (!${step(a2, acc)} && ${i2} < ${idx}))) { ${acc} = ${a2}; ${idx} = ${i2}; }`
      : select
        ? `if (${step(acc, a2)}) { ${acc} = ${a2}; }`
        : `${acc} = ${step(acc, a2)};`,
    tracked,
    result: tracked ? idx : convert(acc, t, out),
  };
}
