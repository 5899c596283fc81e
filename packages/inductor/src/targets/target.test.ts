import { readdirSync, readFileSync } from 'node:fs';
import { F, randn, runGraph, type Tensor, type TypedArray, tidy } from '@kiln/eager';
import { describe, expect, it } from 'vitest';
import { lowerGraph } from '../lower-graph';
import { CompiledGraph } from '../runtime/compiled-graph';
import { schedule } from '../schedule';
import { record } from '../testing/record';
import { jsTarget } from './js/js-target';
import type { Target } from './target';

/** A target that is the JS target with every call through the seam counted: what a new target's author would write. */
function countingTarget() {
  const js = jsTarget();
  const counts = { compiled: 0, launched: 0, runs: 0, allocated: 0, released: 0 };
  const target: Target<TypedArray> = {
    ...js,
    name: 'counting',
    compile(kernel, options) {
      counts.compiled++;
      const built = js.compile(kernel, options);
      return {
        ...built,
        launch: (reads, writes, metadata) => {
          counts.launched++;
          built.launch(reads, writes, metadata);
        },
      };
    },
    allocate(dtype, count, current) {
      if (current === undefined) counts.allocated++;
      return js.allocate(dtype, count, current);
    },
    release(buffer) {
      counts.released++;
      js.release(buffer);
    },
    run(call) {
      counts.runs++;
      return js.run(call);
    },
  };
  return { target, counts };
}

describe('the target seam', () => {
  it('a compiled graph needs nothing of a target but its interface: kernels, planned buffers and calls all go through it', async () => {
    const shapes = [[6, 8], [8], [8], [5, 8]];
    const fn = (x: Tensor, w: Tensor, b: Tensor, w2: Tensor) => F.linear(F.layerNorm(x.mul(2).exp(), [8], w, b), w2).relu();
    const graph = record(
      shapes.map((shape) => ({ shape, dtype: 'float32', device: 'cpu' })),
      fn,
    );
    const lowered = lowerGraph(graph);
    const sched = schedule(lowered.nodes, lowered.outputs, { inlineBudget: 40, maxBuffers: Number.POSITIVE_INFINITY, onlineSoftmax: true });
    const { target, counts } = countingTarget();
    const compiled = new CompiledGraph(target, sched, lowered);
    const kernels = compiled.kernels.length;
    expect(kernels).toBeGreaterThan(1); // an intermediate lives in a planned buffer
    expect(counts.compiled).toBe(kernels);

    const inputs = shapes.map((s) => randn(s));
    for (let call = 1; call <= 2; call++) {
      const [got] = compiled.run(inputs);
      const [want] = tidy(() => runGraph(graph, inputs));
      const [g, w] = [await got!.data(), await want!.data()];
      w.forEach((e, i) => expect(Math.abs(g[i]! - e)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(e)));
      expect(counts).toMatchObject({ launched: kernels * call, runs: call });
    }
    expect(counts.allocated).toBeGreaterThan(0); // made by the first call, reused by the second
    compiled.dispose();
    expect(counts.released).toBe(counts.allocated);
  });
});

describe('the seam holds', () => {
  it('no source of the inductor outside targets/ branches on the device', () => {
    // What keeps a new target a new folder: the runtime and the compiler above it stay target-blind.
    const src = new URL('../', import.meta.url);
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('targets'),
    );
    expect(files).toContain('runtime/compiled-graph.ts');
    const branching = files.filter((f) => /\bdevice\s*[!=]==|['"](webgpu|cpu)['"]\s*[!=]==/.test(readFileSync(new URL(f, src), 'utf8')));
    expect(branching).toEqual([]);
  });
});
