/**
 * Wraps a workload's model the way a user would: `compile(model)` from
 * @kiln/tracer. The first call traces and compiles; later calls are warm.
 *
 * INTERIM: until @kiln/tracer exports `compile`, the model is captured with
 * the inductor's test recorder and compiled with `compileGraph` directly
 * (same kernels, no guards); `via` says which path ran.
 */
import type { Tensor } from '@kiln/eager';
import { compileGraph } from '@kiln/inductor';
import { record } from '../../packages/inductor/src/testing/record';
import { callModel, parametersOf, type Model } from '../workloads/workload';

export interface CompiledModel {
  (...args: Tensor[]): Tensor;
}

type CompileFn = (model: Model) => CompiledModel;

async function tracerCompile(): Promise<CompileFn | undefined> {
  const name = '@kiln/tracer'; // not statically imported while the package is being written
  try {
    const mod = (await import(name)) as { compile?: unknown };
    return typeof mod.compile === 'function' ? (mod.compile as CompileFn) : undefined;
  } catch {
    return undefined;
  }
}

/** record + compileGraph on the first call's inputs (and the module's parameters). */
function recordCompile(model: Model): CompiledModel {
  const params = Object.entries(parametersOf(model));
  let run: ((args: Tensor[]) => Tensor) | undefined;
  return (...args: Tensor[]) => {
    if (!run) {
      const inputs = [...args, ...params.map(([, t]) => t)];
      const graph = record(inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, device: t.device })), (...xs) => {
        const self = typeof model === 'function' ? model : { ...model, ...Object.fromEntries(params.map(([name], i) => [name, xs[args.length + i]!])) };
        return callModel(self, xs.slice(0, args.length));
      });
      const compiled = compileGraph(graph);
      run = (a) => compiled.run([...a, ...params.map(([, t]) => t)])[0]!;
    }
    return run(args);
  };
}

export interface Compiler {
  compile: CompileFn;
  /** '@kiln/tracer compile' or the interim path. */
  via: string;
}

export async function loadCompiler(): Promise<Compiler> {
  const compile = await tracerCompile();
  if (compile) return { compile, via: '@kiln/tracer compile()' };
  return { compile: recordCompile, via: 'INTERIM record() + compileGraph() (@kiln/tracer has no compile yet)' };
}
