/**
 * The index simplifier: constant folding, and division and remainder by a
 * constant that know the ranges of loop variables (so a reshape of a
 * sliced or transposed view reads as strides, not as div/mod chains). Each
 * rewrite is checked against plain integer arithmetic over every value of
 * its variables, so a wrong simplification cannot pass.
 */
import { describe, expect, it } from 'vitest';
import { add, div, type Index, indexValue, int, ivar, keyOf, linearize, mod, mul, rangeOf, unravel } from './expr';

/** The value of an index for given variable values (no symbols). */
const evaluate = (ix: Index, vars: Record<string, number>) => indexValue(ix, [], vars);

/** Every assignment of the variables within their bounds. */
function* assignments(bounds: Record<string, number>): Generator<Record<string, number>> {
  const names = Object.keys(bounds);
  const at = names.map(() => 0);
  for (;;) {
    yield Object.fromEntries(names.map((n, i) => [n, at[i]!]));
    let k = names.length - 1;
    while (k >= 0 && ++at[k]! === bounds[names[k]!]!) at[k--] = 0;
    if (k < 0) return;
  }
}

/** `simplified` equals `reference` (computed without simplification) for every value of the variables. */
function expectSame(simplified: Index, reference: (v: Record<string, number>) => number, bounds: Record<string, number>): void {
  for (const v of assignments(bounds)) expect(evaluate(simplified, v), JSON.stringify(v)).toBe(reference(v));
}

describe('the index simplifier', () => {
  const t = ivar('t', 4);
  const h = ivar('h', 4);
  const d = ivar('d', 8);
  const bounds = { t: 4, h: 4, d: 8 };

  it('folds constants and identities', () => {
    expect(add(int(2), int(3))).toEqual(int(5));
    expect(mul(t, int(1))).toBe(t);
    expect(mul(t, int(0))).toEqual(int(0));
    expect(div(t, int(1))).toBe(t);
    expect(mod(t, int(1))).toEqual(int(0));
  });

  it('divides a sum by a constant term by term when what remains is below it: (t*96 + h*8 + d) / 32 = t*3', () => {
    const e = add(add(mul(t, int(96)), mul(h, int(8))), d);
    const q = div(e, int(32));
    expect(keyOf(q)).toBe(keyOf(mul(t, int(3))));
    expectSame(q, (v) => Math.floor((v.t! * 96 + v.h! * 8 + v.d!) / 32), bounds);
  });

  it('drops the terms a constant divides from a remainder, and a rest below it is itself: (t*96 + h*8 + d) % 32 = h*8 + d', () => {
    const e = add(add(mul(t, int(96)), mul(h, int(8))), d);
    const r = mod(e, int(32));
    expect(keyOf(r)).toBe(keyOf(add(mul(h, int(8)), d)));
    expectSame(r, (v) => (v.t! * 96 + v.h! * 8 + v.d!) % 32, bounds);
  });

  it('keeps a division or remainder it cannot prove away, and is still right', () => {
    const e = add(mul(h, int(8)), d); // up to 31: not below 16
    expectSame(div(e, int(16)), (v) => Math.floor((v.h! * 8 + v.d!) / 16), bounds);
    expectSame(mod(e, int(16)), (v) => (v.h! * 8 + v.d!) % 16, bounds);
    expect(div(e, int(16)).kind).not.toBe('int');
  });

  it('a division or remainder by a size-0 dim is 0 (no element is computed; WGSL rejects a constant division by zero)', () => {
    expect(div(t, int(0))).toEqual(int(0));
    expect(mod(t, int(0))).toEqual(int(0));
  });

  it('knows the ranges of sums, products, remainders and divisions of bounded variables', () => {
    expect(rangeOf(add(mul(t, int(8)), d))).toEqual([0, 31]);
    expect(rangeOf(mod(add(mul(t, int(8)), d), int(5)))).toEqual([0, 4]);
    expect(rangeOf(div(mul(t, int(8)), int(4)))).toEqual([0, 6]);
  });

  it('unravel and linearize are inverses over a shape', () => {
    const i = ivar('i', 4 * 3 * 5);
    const flat = linearize(unravel(i, [4, 3, 5]), [4, 3, 5]);
    expect(keyOf(flat)).toBe('i');
    const [a, b, c] = unravel(i, [4, 3, 5]);
    expectSame(a!, (v) => Math.floor(v.i! / 15), { i: 60 });
    expectSame(b!, (v) => Math.floor(v.i! / 5) % 3, { i: 60 });
    expectSame(c!, (v) => v.i! % 5, { i: 60 });
  });
});
