import { tensor } from '@kiln/eager';
import { JS_KERNEL_LIMIT, jsKernels } from '@kiln/eager/kernels';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../compile';
import { record } from '../../testing/record';
import { buildJs } from './render-js';

describe('the JS kernel cache', () => {
  it('stays at its bound when filled past it, and an evicted kernel is built again and computes the same', async () => {
    const graph = () => record([{ shape: [3], dtype: 'float32', device: 'cpu' }], (x) => x.mul(2).add(1));
    const x = tensor([1, 2, 3]);
    const first = compileGraph(graph());
    expect(await first.run([x])[0]!.toArray()).toEqual([3, 5, 7]);
    const kernel = first.kernels[0]!.source;
    const built = buildJs(kernel);

    for (let i = 0; i <= JS_KERNEL_LIMIT; i++) buildJs(`return function k${i}(ins, outs) { outs[0][0] = ${i}; };`);
    expect(jsKernels.size).toBe(JS_KERNEL_LIMIT);
    const out = [new Float32Array(1)];
    buildJs(`return function k${JS_KERNEL_LIMIT}(ins, outs) { outs[0][0] = ${JS_KERNEL_LIMIT}; };`)(
      [],
      out,
      [],
      () => 0,
      () => {
        throw new Error('no index checks here');
      },
    );
    expect(out[0]![0]).toBe(JS_KERNEL_LIMIT);

    // The graph compiled before keeps its kernel; one compiled now builds it again, with the same results.
    expect(await first.run([x])[0]!.toArray()).toEqual([3, 5, 7]);
    const again = compileGraph(graph());
    expect(buildJs(kernel)).not.toBe(built);
    expect(await again.run([x])[0]!.toArray()).toEqual([3, 5, 7]);
    expect(jsKernels.size).toBe(JS_KERNEL_LIMIT);
  });
});
