import { bin, compiledModuleCount, constant, geluErf, input, un, type VExpr, WasmArena } from '@kiln/eager/kernels';
import { evalVExpr64, mismatches, seededNormals } from '@kiln/eager/testing/wasm';
import { describe, expect, it } from 'vitest';
import { pointwiseModule } from './pointwise';

// Expressions are evaluated in float32 step by step; the reference in float64 once, then rounded.
const RTOL = 1e-4;
const ATOL = 1e-5;

/** A mix of everything: sigmoid(a)·b + tanh(c) / (1 + exp(log(|a| + 1))) - sqrt(relu(b)), max'd with min(a, -c). */
const mixed = bin(
  'max',
  bin(
    'sub',
    bin(
      'add',
      bin('mul', un('sigmoid', input(0)), input(1)),
      bin('div', un('tanh', input(2)), bin('add', constant(1), un('exp', un('log', bin('add', un('abs', input(0)), constant(1)))))),
    ),
    un('sqrt', un('relu', input(1))),
  ),
  bin('min', input(0), un('neg', input(2))),
);

/** Runs the kernel over the inputs with a sentinel after the output, which must survive (tails stay in bounds). */
function run(expr: VExpr, inputs: Float32Array[], n: number): Float32Array {
  const arena = new WasmArena();
  const ptrs = inputs.map((x) => arena.put(x));
  const out = arena.alloc(n + 4);
  arena.f32(out, n + 4).fill(-12345);
  arena.kernel(pointwiseModule(expr), 'run')(out, ...ptrs, n);
  expect(Array.from(arena.f32(out + 4 * n, 4))).toEqual([-12345, -12345, -12345, -12345]);
  return arena.f32(out, n).slice();
}

function reference(expr: VExpr, inputs: Float32Array[], n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => evalVExpr64(expr, (k) => inputs[k]![i]!));
}

describe('pointwise kernel', () => {
  it.each([0, 1, 3, 4, 5, 17, 1000, 1003])('gelu over n = %i (f32x4 loop + scalar tail) matches float64', (n) => {
    const x = seededNormals(n, n + 1, 3);
    if (n > 8) x.set([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e-40, 40, -40], n - 7);
    const expr = geluErf(input(0));
    expect(mismatches(run(expr, [x], n), reference(expr, [x], n), RTOL, ATOL)).toEqual([]);
  });

  it('three inputs through every unary and binary function', () => {
    const n = 4099;
    const ins = [seededNormals(n, 7, 4), seededNormals(n, 8, 4), seededNormals(n, 9, 4)];
    expect(mismatches(run(mixed, ins, n), reference(mixed, ins, n), RTOL, ATOL)).toEqual([]);
  });

  it('notices a wrong result (the check can fail)', () => {
    const x = seededNormals(64, 3);
    const got = run(un('tanh', input(0)), [x], 64);
    expect(mismatches(got, reference(un('sigmoid', input(0)), [x], 64), RTOL, ATOL).length).toBeGreaterThan(0);
  });

  it('constants JSON cannot tell apart (NaN, ±Infinity, ±0) get kernels of their own', () => {
    const x = new Float32Array([1, -2, 3, 0.5, 7]);
    for (const k of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0]) {
      const expr = bin('mul', input(0), constant(k));
      const got = run(expr, [x], x.length);
      expect(Array.from(got)).toEqual(Array.from(x, (v) => Math.fround(v * k)));
    }
  });

  it('compiles an expression once: equal expressions share the module', () => {
    const a = pointwiseModule(geluErf(input(0)));
    const count = compiledModuleCount();
    expect(pointwiseModule(geluErf(input(0)))).toBe(a);
    expect(compiledModuleCount()).toBe(count);
    expect(pointwiseModule(un('exp', input(0)))).not.toBe(a);
  });
});
