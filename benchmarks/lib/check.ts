/** The correctness gate: a result against kiln eager on the same device, element by element. */
import type { Tolerance } from '../workloads/workload';

export interface CheckResult {
  ok: boolean;
  /** Elements outside the tolerance. */
  mismatches: number;
  maxAbsError: number;
  /** The element furthest outside the tolerance (or the largest error when all pass). */
  worst: { index: number[]; actual: number; expected: number; absError: number };
  tolerance: Tolerance;
}

/** Multi-index of flat position `i` in `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return index;
}

/** |actual - expected| <= atol + rtol * |expected| for every element; NaN matches only NaN. */
export function allClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  shape: readonly number[],
  tolerance: Tolerance,
): CheckResult {
  if (actual.length !== expected.length) {
    return {
      ok: false,
      mismatches: Math.max(actual.length, expected.length),
      maxAbsError: Number.POSITIVE_INFINITY,
      worst: { index: [], actual: actual.length, expected: expected.length, absError: Number.POSITIVE_INFINITY },
      tolerance,
    };
  }
  let mismatches = 0;
  let maxAbs = 0;
  let worstExcess = Number.NEGATIVE_INFINITY;
  let worstAt = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    let err = Math.abs(a - e);
    if (Number.isNaN(a) || Number.isNaN(e)) err = Number.isNaN(a) && Number.isNaN(e) ? 0 : Number.POSITIVE_INFINITY;
    else if (a === e) err = 0; // equal infinities
    const excess = err - (tolerance.atol + tolerance.rtol * Math.abs(e));
    if (excess > 0) mismatches++;
    if (err > maxAbs) maxAbs = err;
    if (excess > worstExcess) {
      worstExcess = excess;
      worstAt = i;
    }
  }
  return {
    ok: mismatches === 0,
    mismatches,
    maxAbsError: maxAbs,
    worst: {
      index: unravel(worstAt, shape),
      actual: actual[worstAt]!,
      expected: expected[worstAt]!,
      absError: Math.abs(actual[worstAt]! - expected[worstAt]!),
    },
    tolerance,
  };
}

export function describeCheck(c: CheckResult, total: number): string {
  const w = c.worst;
  return (
    `${c.mismatches} of ${total} elements outside rtol ${c.tolerance.rtol} / atol ${c.tolerance.atol}; ` +
    `worst at [${w.index.join(', ')}]: got ${w.actual}, eager ${w.expected} (|error| ${w.absError.toExponential(2)})`
  );
}
