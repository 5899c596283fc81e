import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { promoteTypes, resultType, scalarDtype } from './dtype';
import type { View } from './view';
import {
  broadcastShapes,
  coalesce,
  contiguousView,
  expand,
  flattenShape,
  inferShape,
  isContiguous,
  normalizeDim,
  normalizeDims,
  permute,
  reshape,
  slice,
  squeeze,
  transpose,
  unsqueeze,
} from './view';

/** Storage offsets of every element of a view, in row-major logical order. */
function offsets(v: View): number[] {
  const out: number[] = [];
  const walk = (d: number, off: number) => {
    if (d === v.shape.length) return void out.push(off);
    for (let i = 0; i < v.shape[d]; i++) walk(d + 1, off + i * v.strides[d]);
  };
  walk(0, v.offset);
  return out;
}

describe('dtype promotion', () => {
  it('follows bool < int32 < float32', () => {
    expect(promoteTypes('bool', 'int32')).toBe('int32');
    expect(promoteTypes('int32', 'float32')).toBe('float32');
    expect(promoteTypes('bool', 'bool')).toBe('bool');
    expect(resultType(['int32', scalarDtype(0.5)])).toBe('float32');
    expect(resultType(['int32', scalarDtype(2)])).toBe('int32');
    expect(resultType(['float32', scalarDtype(2)])).toBe('float32');
    expect(resultType(['bool', scalarDtype(true)])).toBe('bool');
  });
  it('counts integers outside int32 as float so they never wrap', () => {
    expect(scalarDtype(2 ** 40)).toBe('float32');
    expect(scalarDtype(Infinity)).toBe('float32');
  });
});

describe('views', () => {
  it('normalizes dims like Python and names op and rank on error', () => {
    expect(normalizeDim('sum', -1, 3)).toBe(2);
    expect(() => normalizeDim('sum', 3, 3)).toThrow(/sum: dim 3 is out of range for a tensor of rank 3/);
    expect(() => normalizeDims('sum', [0, -3], 3)).toThrow(/appears more than once/);
  });

  it('broadcasts like NumPy and names both shapes on error', () => {
    expect(broadcastShapes('add', [3, 1], [1, 5])).toEqual([3, 5]);
    expect(broadcastShapes('add', [2, 3, 4], [4])).toEqual([2, 3, 4]);
    expect(broadcastShapes('add', [], [0, 2])).toEqual([0, 2]);
    expect(() => broadcastShapes('add', [2, 3], [4])).toThrow('add: cannot broadcast shapes [2,3] and [4]');
  });

  it('permutes, transposes, expands and slices without touching data', () => {
    const v = contiguousView([2, 3, 4]);
    expect(permute('permute', v, [2, 0, 1])).toEqual({ shape: [4, 2, 3], strides: [1, 12, 4], offset: 0 });
    expect(transpose('transpose', v, 0, -1).strides).toEqual([1, 4, 12]);
    expect(expand('expand', contiguousView([3, 1]), [2, 3, 5])).toEqual({ shape: [2, 3, 5], strides: [0, 1, 0], offset: 0 });
    expect(() => expand('expand', contiguousView([3, 2]), [3, 4])).toThrow('expand: cannot expand shape [3,2] to [3,4]');
    expect(offsets(slice('slice', contiguousView([10]), 0, -8, 9, 3))).toEqual([2, 5, 8]);
    expect(slice('slice', contiguousView([10]), 0, 7, 2, 1).shape).toEqual([0]);
  });

  it('squeezes only size-1 dims and unsqueezes anywhere', () => {
    const v = contiguousView([1, 3, 1]);
    expect(squeeze('squeeze', v, null).shape).toEqual([3]);
    expect(squeeze('squeeze', v, [1, 2]).shape).toEqual([1, 3]);
    expect(unsqueeze('unsqueeze', v, -1).shape).toEqual([1, 3, 1, 1]);
    expect(isContiguous(unsqueeze('unsqueeze', contiguousView([2, 3]), 1))).toBe(true);
  });

  it('reshapes without a copy exactly when the strides allow it', () => {
    const v = contiguousView([2, 3, 4]);
    expect(reshape(v, [6, 4])).toEqual(contiguousView([6, 4]));
    const t = transpose('t', v, 1, 2); // [2,4,3]
    expect(reshape(t, [8, 3])).toBeNull();
    expect(reshape(t, [2, 12])).toBeNull();
    const merged = reshape(t, [2, 4, 3, 1]);
    expect(merged && offsets(merged)).toEqual(offsets(t));
    expect(inferShape('reshape', [2, 3, 4], [-1, 4])).toEqual([6, 4]);
    expect(() => inferShape('reshape', [2, 3], [4, 2])).toThrow('reshape: cannot reshape a tensor of shape [2,3] (6 elements) to [4,2]');
    expect(flattenShape('flatten', [2, 3, 4, 5], 1, 2)).toEqual([2, 12, 5]);
  });

  it('reshape, when it returns a view, addresses the same elements in the same order', () => {
    const shapes = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(shapes, fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), fc.nat(100), (shape, perm, cut) => {
        // A permuted, sliced view, then reshaped to the sizes split differently.
        const order = shape.map((_, i) => i).sort((a, b) => (perm[a] ?? 0) - (perm[b] ?? 0) || a - b);
        const v = permute('p', contiguousView(shape), order);
        const numel = v.shape.reduce((a, b) => a * b, 1);
        const factor = [1, 2, 3, 4].filter((f) => numel % f === 0)[cut % 4] ?? 1;
        const target = [factor, numel / factor];
        const r = reshape(v, target);
        if (r) expect(offsets(r)).toEqual(offsets(v));
        else expect(isContiguous(v)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('coalesces dims that all operands walk with one stride', () => {
    expect(
      coalesce(
        [2, 3, 4],
        [
          [12, 4, 1],
          [0, 0, 0],
        ],
      ),
    ).toEqual({ shape: [24], strides: [[1], [0]] });
    expect(
      coalesce(
        [2, 3, 4],
        [
          [12, 4, 1],
          [1, 0, 0],
        ],
      ),
    ).toEqual({
      shape: [2, 12],
      strides: [
        [12, 1],
        [1, 0],
      ],
    });
    expect(coalesce([1, 1], [[5, 1]])).toEqual({ shape: [], strides: [[]] });
  });
});
