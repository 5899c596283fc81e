/**
 * Sizes of the loop IR: a number, or a product of dynamic-size symbols and
 * a number (a monomial: B, B*S, 3*S...). Dynamic dims are found by tracing
 * with marker sizes: each symbol's example size is replaced by a large prime
 * before shapes are inferred, so every size computed from it (by eager's own
 * shape rules and decompositions) is a product the markers factor out of.
 */

import { NotCompiled } from '../errors';

export interface SymSize {
  /** Symbols multiplied (sorted; a symbol may repeat). */
  readonly syms: readonly number[];
  readonly coeff: number;
}

export type Size = number | SymSize;

/** Primes no real tensor dim is a multiple of in practice; products of three stay exact in a double. */
export const MARKERS: readonly number[] = [65537, 65539, 65543, 65551, 65557, 65563, 65579, 65581, 65587, 65599, 65609, 65617];

/**
 * A second set: a graph lowered with each set must give the same kernels.
 * Where they differ, something was computed from a dynamic size outside the
 * sizes the IR tracks (`1 / sqrt(d)`, `n - 1`), and the graph is not compiled.
 */
export const CHECK_MARKERS: readonly number[] = [71999, 72019, 72031, 72043, 72047, 72053, 72073, 72077, 72089, 72091, 72101, 72103];

export function markerOf(sym: number, markers = MARKERS): number {
  const m = markers[sym];
  if (m === undefined) throw new NotCompiled(`a graph with more than ${markers.length} dynamic sizes is not compiled`);
  return m;
}

/** The size a number computed from marker sizes stands for (`symCount` symbols in play). */
export function factor(n: number, symCount: number, markers = MARKERS): Size {
  if (symCount === 0 || !Number.isInteger(n) || n < markers[0]!) return n;
  const syms: number[] = [];
  let rest = n;
  for (let s = 0; s < symCount; s++) {
    const m = markerOf(s, markers);
    while (rest % m === 0 && rest > 0) {
      syms.push(s);
      rest /= m;
    }
  }
  return syms.length === 0 ? n : { syms, coeff: rest };
}

export const isStatic = (s: Size): s is number => typeof s === 'number';

export function sizeValue(s: Size, symValues: readonly number[]): number {
  return isStatic(s) ? s : s.syms.reduce((n, k) => n * symValues[k]!, s.coeff);
}

export function sizeKey(s: Size): string {
  return isStatic(s) ? String(s) : `${s.coeff}*${s.syms.map((k) => `s${k}`).join('*')}`;
}

export function numelOf(shape: readonly Size[]): Size {
  let coeff = 1;
  const syms: number[] = [];
  for (const s of shape) {
    if (isStatic(s)) coeff *= s;
    else {
      coeff *= s.coeff;
      syms.push(...s.syms);
    }
  }
  return syms.length === 0 || coeff === 0 ? coeff : { syms: syms.sort((a, b) => a - b), coeff };
}

/** Shapes with the same sizes (dynamic ones by symbol). */
export function sameShape(a: readonly Size[], b: readonly Size[]): boolean {
  return a.length === b.length && a.every((s, i) => sizeKey(s) === sizeKey(b[i]!));
}

/** Shapes with the same element count. */
export function sameNumel(a: readonly Size[], b: readonly Size[]): boolean {
  return sizeKey(numelOf(a)) === sizeKey(numelOf(b));
}
