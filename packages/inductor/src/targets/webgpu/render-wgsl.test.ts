import { type DynamicDims, F, type Tensor, tensor, tidy } from '@kiln/eager';
import { ELEMENT_THREADS, ROW_THREADS, ROW_WORKGROUP_THREADS } from '@kiln/eager/kernels';
import { devicesUnderTest } from '@kiln/eager/testing';
import { describe, expect, it } from 'vitest';
import type { PointwiseKernel, RowKernel } from '../../codegen/kernel';
import { compileGraph } from '../../compile';
import { lowerGraph } from '../../lower-graph';
import { schedule } from '../../schedule';
import { record } from '../../testing/record';
import { renderWgsl } from './render-wgsl';

/** The first kernel the scheduler makes of `fn`, scheduled as for webgpu (online softmax) without needing an adapter. */
function kernelOf(shape: number[], fn: (x: Tensor) => Tensor, dynamicDims?: DynamicDims) {
  const lowered = lowerGraph(record([{ shape, dtype: 'float32', device: 'cpu' }], fn), dynamicDims);
  return schedule(lowered.nodes, lowered.outputs, { inlineBudget: 40, maxBuffers: 7, onlineSoftmax: true }).kernels[0]!.kernel as
    | PointwiseKernel
    | RowKernel;
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

describe('row kernels over rows of a multiple of 4 read vec4', () => {
  const vectorInput = (source: string) => /var<storage, read> in0: array<vec4<f32>>/.test(source);
  const render = (shape: number[], fn: (x: Tensor) => Tensor, rowStrategy: 'thread' | 'workgroup' = 'thread') =>
    renderWgsl(kernelOf(shape, fn), { rowStrategy, symCount: 0 }).source;

  it('when every read of the input is at a multiple of 4 plus j, one thread per row', () => {
    expect(vectorInput(render([6, 8], (x) => x.softmax(1)))).toBe(true);
    expect(vectorInput(render([6, 16], (x) => x.slice(1, 4, 12).softmax(1)))).toBe(true);
    expect(vectorInput(render([6, 10], (x) => x.slice(1, 1, 9).softmax(1)))).toBe(false); // rows start at 10o + 1
    expect(vectorInput(render([6, 6], (x) => x.softmax(1)))).toBe(false);
    expect(vectorInput(render([6, 8], (x) => x.softmax(0)))).toBe(false); // a column: stride 8
    expect(vectorInput(render([6, 8], (x) => x.softmax(1), 'workgroup'))).toBe(false);
  });

  it('the online softmax takes the max and the sum in one pass', () => {
    const source = render([6, 8], (x) => x.softmax(1));
    expect(source.match(/for \(var q = /g)).toHaveLength(2); // max and sum, then the normalized write
    expect(source.match(/in0\[vb0 \+ q\]/g)).toHaveLength(2); // one vec4 read a step in each loop
    const byWorkgroup = render([6, 8], (x) => x.softmax(1), 'workgroup');
    expect(byWorkgroup.match(/for \(var j = lid.x/g)).toHaveLength(2); // the threads' (max, sum) partials combine as pairs
  });

  it('an output every write (and reload) of which is at a multiple of 4 plus j is written as vec4', () => {
    const vectorOutput = (source: string) => /var<storage, read_write> out0: array<vec4<f32>>/.test(source);
    const softmax = render([6, 8], (x) => x.softmax(1));
    expect(vectorOutput(softmax)).toBe(true);
    expect(softmax).toContain('out0[vo0 + q] = w0;'); // the 4 lanes' element writes in one store
    const layerNorm = render([6, 8], (x) => F.layerNorm(x, [8])); // the centered row written in a pass, reloaded, written again
    expect(vectorOutput(layerNorm)).toBe(true);
    expect(layerNorm).toContain('out0[vo0 + q][3] = '); // a lane's write during a pass
    expect(vectorOutput(render([6, 8], (x) => x.sum(1)))).toBe(false); // written once per row
    expect(vectorOutput(render([6, 6], (x) => x.softmax(1)))).toBe(false);
    expect(vectorOutput(render([6, 8], (x) => x.softmax(1), 'workgroup'))).toBe(false);
  });
});

const devices = await devicesUnderTest();
describe.each(devices.filter((d) => d === 'webgpu'))('vec4 row kernels on %s equal eager', (device) => {
  const values = (n: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 1.7) * 4));
  it.each([
    { name: 'softmax', shape: [5, 12], fn: (x: Tensor) => x.softmax(1) },
    { name: 'logSoftmax of a slice at 4', shape: [5, 16], fn: (x: Tensor) => x.slice(1, 4, 12).logSoftmax(1) },
    { name: 'layerNorm', shape: [5, 8], fn: (x: Tensor) => x.sub(x.mean(1, true)).div(x.var(1, true).add(1e-5).sqrt()) },
    {
      name: 'F.layerNorm (an output written in a pass, reloaded and written again)',
      shape: [5, 8],
      fn: (x: Tensor) => F.layerNorm(x, [8]),
    },
    { name: 'x == its row max (a bool output written as vec4)', shape: [5, 8], fn: (x: Tensor) => x.round().eq(x.round().max(1, true)) },
    { name: 'argmax with ties (the first wins)', shape: [5, 8], fn: (x: Tensor) => x.round().argmax(1).cast('float32') },
  ])('$name', async ({ shape, fn }) => {
    const graph = record([{ shape, dtype: 'float32', device }], fn);
    const compiled = compileGraph(graph);
    const data = values(shape[0]! * shape[1]!);
    const [got] = compiled.run([tensor(data, { device }).reshape(shape)]);
    const want = tidy(() => fn(tensor(data).reshape(shape))); // the cpu (float64 accumulation) as the reference
    const [g, w] = [Array.from(await got!.data()), Array.from(await want.data())];
    w.forEach((v, i) => expect(Math.abs(g[i]! - v)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(v)));
    compiled.dispose();
  });
});
