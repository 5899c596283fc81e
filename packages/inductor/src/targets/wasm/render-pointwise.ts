/**
 * A pointwise kernel of the IR as a wasm module: `out_k[i] = expr_k` four
 * elements at a time (f32x4), then a scalar tail for the last n mod 4 that
 * runs the same code on a splatted element. Each load is spelled by how its
 * index moves with `i` (./emit-index): a v128 load where it is contiguous,
 * a splat loaded once before the loops where it does not move (a broadcast
 * scalar), four scalar loads otherwise (strided or broadcast views).
 * Export `run(out..., in..., n, sym...)`, pointers in bytes.
 */

import type { PointwiseKernel } from '../../codegen/kernel';
import { children, type Expr, type Index } from '../../ir/expr';
import { numelOf, sizeValue } from '../../ir/size';
import { WasmExprEmitter } from './emit-expr';
import { type Access, accessOf, emitIndex } from './emit-index';
import type { FunctionBuilder } from './function-builder';
import { ModuleBuilder } from './module-builder';
import { NoWasmForm } from './no-wasm-form';

type LoadExpr = Extract<Expr, { kind: 'load' }>;

export interface RenderedWasm {
  bytes: Uint8Array;
  /** How each input is read, for the kernel's report. */
  summary: string;
  /** The scalars `run` takes after the pointers, for a call's dynamic sizes; null when there is nothing to compute. */
  args(syms: readonly number[]): number[] | null;
}

/** The distinct loads of `exprs`. */
export function loadsOf(exprs: readonly Expr[]): LoadExpr[] {
  const seen = new Set<Expr | Index>();
  const walk = (e: Expr | Index) => {
    if (seen.has(e)) return;
    seen.add(e);
    for (const child of children(e)) walk(child);
  };
  for (const e of exprs) walk(e);
  return [...seen].filter((e): e is LoadExpr => e.kind === 'load');
}

/** The main loop's four lanes, or the tail's one element (splatted). */
type Mode = 'vector' | 'scalar';

export function renderPointwise(k: PointwiseKernel, symCount: number): RenderedWasm {
  if (k.outputs.some((o) => o.dtype !== 'float32')) throw new NoWasmForm('non-float32 outputs');
  const mod = new ModuleBuilder();
  const outs = k.outputs.length;
  const n = outs + k.inputs.length;
  const c = mod.func(Array(n + 1 + symCount).fill('i32'), [], 'run');
  const [i, lane, vecEnd] = [c.local('i32'), c.local('i32'), c.local('i32')];
  const syms = n + 1;
  /** Pushes the byte address of element `ix` of input `input`, with `i` read from local `at`. */
  const address = (input: number, ix: Index, at: number) => {
    c.get(outs + input);
    emitIndex(c, ix, { vars: { i: at }, syms });
    c.i32(2).op('i32.shl').op('i32.add');
  };
  const loads = loadsOf(k.stores.map((s) => s.expr));
  const access = new Map<LoadExpr, Access>(loads.map((ld) => [ld, accessOf(ld.index, 'i')]));
  // Loads that do not move with i, once before the loops.
  const splats = new Map<LoadExpr, number>();
  for (const ld of loads) {
    if (access.get(ld) !== 'uniform') continue;
    address(ld.input, ld.index, i);
    c.mem('f32.load').op('f32x4.splat');
    const local = c.local('v128');
    c.set(local);
    splats.set(ld, local);
  }
  const load = (ld: LoadExpr, mode: Mode) => {
    const splat = splats.get(ld);
    if (splat !== undefined) c.get(splat);
    else if (mode === 'scalar') {
      address(ld.input, ld.index, i);
      c.mem('f32.load').op('f32x4.splat');
    } else if (access.get(ld) === 'contiguous') {
      address(ld.input, ld.index, i);
      c.mem('v128.load');
    } else gather(c, (at) => address(ld.input, ld.index, at), i, lane);
  };
  const body = (mode: Mode) => {
    const e = new WasmExprEmitter(c, { load: (ld) => load(ld, mode) });
    for (const s of k.stores) {
      c.get(s.output).get(i).i32(2).op('i32.shl').op('i32.add');
      e.push(s.expr, 'float32');
      if (mode === 'vector') c.mem('v128.store');
      else c.lane('f32x4.extract_lane', 0).mem('f32.store');
    }
  };
  c.get(n).i32(-4).op('i32.and').set(vecEnd);
  c.forRange(
    i,
    () => c.i32(0),
    () => c.get(vecEnd),
    4,
    () => body('vector'),
  );
  c.forRange(
    i,
    () => c.get(vecEnd),
    () => c.get(n),
    1,
    () => body('scalar'),
  );
  const summary = k.inputs.map((_, input) => {
    const kinds = new Set(loads.filter((ld) => ld.input === input).map((ld) => access.get(ld)));
    return `in${input} ${[...kinds].join('/')}`;
  });
  const numel = numelOf(k.shape);
  return {
    bytes: mod.toBytes(),
    summary: `f32x4 over i; ${summary.join(', ')}`,
    args: (values) => {
      const count = sizeValue(numel, values);
      return count > 0 ? [count, ...values] : null;
    },
  };
}

/** Pushes a v128 of four scalar loads, lane L at the address `address(at)` pushes with local `at` = i + L. */
export function gather(c: FunctionBuilder, address: (at: number) => void, i: number, at: number): void {
  c.f32x4(0);
  for (let l = 0; l < 4; l++) {
    c.get(i).i32(l).op('i32.add').set(at);
    address(at);
    c.mem('f32.load').lane('f32x4.replace_lane', l);
  }
}
