/**
 * A pointwise kernel of the IR as a wasm module: `out_k[i] = expr_k` over
 * i in ./lanes' loop (f32x4, then a scalar tail), each load spelled by how
 * its index moves with i. Export `run(out..., in..., first, count, sym...)`
 * over i in [first, first + count), pointers in bytes.
 */

import { ModuleBuilder } from '@kiln/eager/kernels';
import type { PointwiseKernel } from '../../codegen/kernel';
import { children, type Expr, type Index, ivar } from '../../ir/expr';
import { numelOf, sizeValue } from '../../ir/size';
import { WasmExprEmitter } from './emit-expr';
import { accessOf } from './emit-index';
import { emitIndexLess, emitLoad, emitStore, loopVar, readPointer, vectorLoop } from './lanes';
import { NoWasmForm } from './no-wasm-form';
import { type RenderedWasm, slicedModule } from './rendered-wasm';

/** The distinct load nodes of `exprs`. */
function loadsOf(exprs: readonly Expr[]): Extract<Expr, { kind: 'load' }>[] {
  const seen = new Set<Expr | Index>();
  const walk = (e: Expr | Index) => {
    if (seen.has(e)) return;
    seen.add(e);
    for (const child of children(e)) walk(child);
  };
  for (const e of exprs) walk(e);
  return [...seen].filter((e): e is Extract<Expr, { kind: 'load' }> => e.kind === 'load');
}

/** 'in0 contiguous, in1 gather': how each input's loads move with loop variable `name`. */
export function accessSummary(exprs: readonly Expr[], name: string): string {
  return loadsOf(exprs)
    .map((ld) => `in${ld.input} ${accessOf(ld.index, name)}`)
    .filter((text, k, all) => all.indexOf(text) === k)
    .join(', ');
}

export function renderPointwise(k: PointwiseKernel, symCount: number): RenderedWasm {
  if (k.outputs.some((o) => o.dtype !== 'float32')) throw new NoWasmForm('non-float32 outputs');
  const mod = new ModuleBuilder();
  const outs = k.outputs.length;
  const n = outs + k.inputs.length;
  const [first, count] = [n, n + 1];
  const c = mod.func(Array(n + 2 + symCount).fill('i32'), [], 'run');
  const i = loopVar(c, 'i');
  const scope = { vars: { i: i.local }, syms: n + 2 };
  vectorLoop(
    c,
    i,
    () => c.get(count),
    (mode) => {
      const e = new WasmExprEmitter(c, {
        load: (ld) => emitLoad(c, readPointer(ld, outs), ld.index, scope, i, mode),
        less: (a, b) => emitIndexLess(c, a, b, scope, i, mode),
      });
      for (const s of k.stores) emitStore(c, s.output, ivar('i'), scope, i, mode, () => e.push(s.expr, 'float32'));
    },
    () => c.get(first),
  );
  const numel = numelOf(k.shape);
  const summary = `f32x4 over i; ${accessSummary(
    k.stores.map((s) => s.expr),
    'i',
  )}`;
  return slicedModule(
    mod.toBytes(),
    summary,
    (values) => {
      const units = sizeValue(numel, values);
      return units > 0 ? { units, elementsPerUnit: 1, rest: [...values] } : null;
    },
    4,
  );
}
