import type { DynamicDims, Tensor } from '@kiln/eager';
import { ELEMENT_THREADS, ROW_THREADS, ROW_WORKGROUP_THREADS } from '@kiln/eager/kernels';
import { describe, expect, it } from 'vitest';
import type { PointwiseKernel, RowKernel } from '../../codegen/kernel';
import { compileGraph } from '../../compile';
import { record } from '../../testing/record';
import { renderWgsl } from './render-wgsl';

/** The first kernel the scheduler makes of `fn` (scheduled on cpu: the kernel IR is the same on every target). */
function kernelOf(shape: number[], fn: (x: Tensor) => Tensor, dynamicDims?: DynamicDims) {
  const graph = record([{ shape, dtype: 'float32', device: 'cpu' }], fn);
  return compileGraph(graph, dynamicDims ? { dynamicDims } : {}).schedule.kernels[0]!.kernel as PointwiseKernel | RowKernel;
}

const declared = (source: string) => Number(/@workgroup_size\((\d+)\)/.exec(source)![1]);

describe('the launch geometry a WGSL kernel is rendered with', () => {
  it('a pointwise kernel: workgroups of the size its source declares, one element (or one vec4) per thread, up to 256', () => {
    const scalar = renderWgsl(
      kernelOf([999], (x) => x.exp()),
      { rowStrategy: 'thread', symCount: 0 },
    );
    expect(declared(scalar.source)).toBe(ELEMENT_THREADS);
    expect(scalar.workgroups([])).toEqual([Math.ceil(999 / ELEMENT_THREADS)]);
    const vec4 = renderWgsl(
      kernelOf([4096], (x) => x.exp()),
      { rowStrategy: 'thread', symCount: 0 },
    );
    expect(vec4.source).toContain('vec4<f32>');
    expect(vec4.workgroups([])).toEqual([Math.ceil(4096 / 4 / ELEMENT_THREADS)]);
    const big = renderWgsl(
      kernelOf([1 << 22], (x) => x.exp()),
      { rowStrategy: 'thread', symCount: 0 },
    );
    expect(big.workgroups([])).toEqual([256]);
  });

  it('a pointwise kernel over a dynamic size: the grid follows each call’s size', () => {
    const k = kernelOf([8, 5], (x) => x.exp(), [[0]]);
    const rendered = renderWgsl(k, { rowStrategy: 'thread', symCount: 1 });
    expect(rendered.workgroups([8])).toEqual([1]);
    expect(rendered.workgroups([1000])).toEqual([Math.ceil(5000 / ELEMENT_THREADS)]);
  });

  it('a row kernel: a thread per row in workgroups of ROW_THREADS, or a workgroup of ROW_WORKGROUP_THREADS per row', () => {
    const k = kernelOf([100, 30], (x) => x.sum(1));
    const byThread = renderWgsl(k, { rowStrategy: 'thread', symCount: 0 });
    expect(declared(byThread.source)).toBe(ROW_THREADS);
    expect(byThread.workgroups([])).toEqual([Math.ceil(100 / ROW_THREADS)]);
    const byWorkgroup = renderWgsl(k, { rowStrategy: 'workgroup', symCount: 0 });
    expect(declared(byWorkgroup.source)).toBe(ROW_WORKGROUP_THREADS);
    expect(byWorkgroup.workgroups([])).toEqual([100]);
  });
});
