/**
 * Differential check of the compiler: program `seed` compiled and run
 * against eager on `device`, every output element within float32 tolerance
 * (rtol 1e-4, atol 1e-5; NaN must stay NaN). Returns what went wrong, with
 * the seed and the program listing, or undefined.
 */
import { manualSeed, randn, runGraph, tidy, type Device } from '@kiln/eager';
import { compileGraph } from '../compile';
import { randomProgram } from './random-graph';
import { record } from './record';

export async function checkProgram(seed: number, device: Device): Promise<string | undefined> {
  const program = randomProgram(seed);
  const graph = record(program.shapes.map((shape) => ({ shape, dtype: 'float32', device })), program.fn);
  const where = () => `seed ${seed} on ${device}:\n${program.text}`;
  let compiled;
  try {
    compiled = compileGraph(graph);
  } catch (error) {
    return `${where()}\ncompile failed: ${String(error)}`;
  }
  manualSeed(seed);
  const inputs = program.shapes.map((s) => randn(s, { device }));
  const got = compiled.run(inputs);
  const want = tidy(() => runGraph(graph, inputs));
  try {
    for (let i = 0; i < want.length; i++) {
      if (got[i]!.shape.join() !== want[i]!.shape.join()) return `${where()}\noutput ${i}: shape ${got[i]!.shape} vs ${want[i]!.shape}`;
      const [g, w] = [await got[i]!.data(), await want[i]!.data()];
      for (let j = 0; j < w.length; j++) {
        const ok = Number.isNaN(w[j]!) ? Number.isNaN(g[j]!) : Math.abs(g[j]! - w[j]!) <= 1e-5 + 1e-4 * Math.abs(w[j]!);
        if (!ok) return `${where()}\noutput ${i} element ${j}: compiled ${g[j]} vs eager ${w[j]}`;
      }
    }
    return undefined;
  } finally {
    [...got, ...want, ...inputs].forEach((t) => t.dispose());
    compiled.dispose();
  }
}
