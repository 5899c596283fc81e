/**
 * Compiling a recorded graph for the wasm target and checking it against
 * eager, for the wasm target's tests.
 */
import { type Graph, runGraph, type Tensor, tidy } from '@kiln/eager';
import { expect } from 'vitest';
import { lowerGraph } from '../lower-graph';
import { CompiledGraph } from '../runtime/compiled-graph';
import { schedule } from '../schedule';
import { wasmTarget } from '../targets/wasm/wasm-target';

export function compileWasm(graph: Graph): CompiledGraph {
  const lowered = lowerGraph(graph);
  return new CompiledGraph(
    wasmTarget(),
    schedule(lowered.nodes, lowered.outputs, { inlineBudget: 40, maxBuffers: Infinity, onlineSoftmax: wasmTarget().onlineSoftmax }),
    lowered,
  );
}

/** Each output of `compiled` equals eager's (runGraph, op by op) within the numeric contract, with NaN, ±Inf and -0 where eager has them. */
export async function expectEager(compiled: CompiledGraph, graph: Graph, inputs: Tensor[]): Promise<void> {
  const got = compiled.run(inputs);
  const want = tidy(() => runGraph(graph, inputs));
  for (let o = 0; o < want.length; o++) {
    const [g, w] = [await got[o]!.data(), await want[o]!.data()];
    expect(g.length).toBe(w.length);
    w.forEach((e, i) => {
      const a = g[i]!;
      if (!Number.isFinite(e) || e === 0)
        expect(Object.is(a, e) || (e === 0 && Math.abs(a) <= 1e-5 && !Object.is(e, -0)), `[${i}] ${a} vs ${e}`).toBe(true);
      else expect(Math.abs(a - e), `[${i}] ${a} vs ${e}`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(e));
    });
  }
}
