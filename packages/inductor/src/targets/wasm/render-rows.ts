/**
 * A row kernel of the IR as a wasm module: per row `o`, each reduction in
 * turn walks the row's positions `j` in ./lanes' loop with four lanes of
 * partial results (its side stores written on the way), the lanes combined
 * at the end (./row-reduce's emitHorizontal) and the result splatted for
 * what reads it; then the row stores, then the element stores over `j`
 * (softmax's normalized write, layerNorm's output). An online sum (softmax)
 * runs as its own pass after the max, which the IR allows. float32 sum,
 * max and min (sums in float64 lanes, as eager's doubles); other reductions
 * are a NoWasmForm.
 * Export `run(out..., in..., first, rows, cols, sym...)` over rows
 * [first, first + rows), pointers in bytes.
 */

import type { FunctionBuilder } from '@kiln/eager/kernels';
import { ModuleBuilder } from '@kiln/eager/kernels';
import type { RowKernel } from '../../codegen/kernel';
import { ivar } from '../../ir/expr';
import { numelOf, sizeValue } from '../../ir/size';
import { WasmExprEmitter } from './emit-expr';
import { emitIndexLess, emitLoad, emitStore, loopVar, type Mode, readPointer, vectorLoop } from './lanes';
import { NoWasmForm } from './no-wasm-form';
import { accessSummary } from './render-pointwise';
import { type RenderedWasm, slicedModule } from './rendered-wasm';
import { emitHorizontal, REDUCERS, type RowReduceOp } from './row-reduce';

const isVectorOp = (op: string): op is RowReduceOp => op in REDUCERS;

/** Byte indices that move lanes 2 and 3 of an f32x4 into lanes 0 and 1 (i8x16.swizzle), as float32 bits. */
const HIGH_HALF = [...new Float32Array(new Int32Array([0x0b0a0908, 0x0f0e0d0c, 0x03020100, 0x07060504]).buffer)] as [
  number,
  number,
  number,
  number,
];

/** A reduction's lanes through a row: `add` folds in the f32x4 on the stack, `total` pushes the combined f32. */
interface LaneAccumulator {
  add(): void;
  total(): void;
}

/**
 * A sum in float64 lanes, as eager sums in doubles: float32 lanes lose the
 * contract's 1e-5 on rows of a few thousand that cancel, and overflow where
 * eager does not. Zeroes its accumulators where it is made.
 */
function f64Sum(c: FunctionBuilder): LaneAccumulator {
  const [lo, hi, v] = [c.local('v128'), c.local('v128'), c.local('v128')];
  c.f32x4(0).set(lo);
  c.f32x4(0).set(hi);
  return {
    add: () => {
      c.tee(v).op('f64x2.promote_low_f32x4').get(lo).op('f64x2.add').set(lo);
      c.get(v).f32x4(HIGH_HALF).op('i8x16.swizzle').op('f64x2.promote_low_f32x4').get(hi).op('f64x2.add').set(hi);
    },
    total: () => {
      c.get(lo).get(hi).op('f64x2.add').set(lo);
      c.get(lo).lane('f64x2.extract_lane', 0).get(lo).lane('f64x2.extract_lane', 1).op('f64.add').op('f32.demote_f64');
    },
  };
}

/**
 * A max or min whose lanes step with pmax / pmin (one instruction; the
 * NaN-propagating f32x4.max is a long sequence on x86, and the row's whole
 * loop waits on it), with NaN seen in a flag of its own: a row holding a NaN
 * reduces to NaN, as eager's.
 */
function minMax(c: FunctionBuilder, op: 'max' | 'min'): LaneAccumulator {
  const [acc, nan, v] = [c.local('v128'), c.local('v128'), c.local('v128')];
  c.f32x4(REDUCERS[op].identity).set(acc);
  c.i32x4(0).set(nan);
  return {
    add: () => {
      c.tee(v).get(v).op('f32x4.ne').get(nan).op('v128.or').set(nan);
      // pmax(acc, v) is acc < v ? v : acc (pmin: v < acc ? v : acc), so a NaN v leaves acc as it was.
      c.get(acc)
        .get(v)
        .op(op === 'max' ? 'f32x4.pmax' : 'f32x4.pmin')
        .set(acc);
    },
    total: () => {
      c.f32(Number.NaN);
      emitHorizontal(c, acc, op);
      c.get(nan).op('v128.any_true').op('select');
    },
  };
}

export function renderRows(k: RowKernel, symCount: number): RenderedWasm {
  if (k.outputs.some((o) => o.dtype !== 'float32')) throw new NoWasmForm('non-float32 outputs');
  for (const r of k.reductions) {
    if (!isVectorOp(r.op) || r.dtype !== 'float32' || r.out !== 'float32') throw new NoWasmForm(`${r.op} over ${r.dtype} rows`);
  }
  const mod = new ModuleBuilder();
  const outs = k.outputs.length;
  const n = outs + k.inputs.length;
  const [first, rows, cols] = [n, n + 1, n + 2];
  const c = mod.func(Array(n + 3 + symCount).fill('i32'), [], 'run');
  const [o, end] = [c.local('i32'), c.local('i32')];
  const j = loopVar(c, 'j');
  const scope = { vars: { o, j: j.local }, syms: n + 3 };
  /** Each finished reduction, splatted, by id. */
  const accs = new Map<number, number>();
  const emitter = (mode: Mode) =>
    new WasmExprEmitter(c, {
      load: (read) => emitLoad(c, readPointer(read, outs), read.index, scope, j, mode),
      less: (a, b) => emitIndexLess(c, a, b, scope, j, mode),
      acc: (id) => accs.get(id),
    });
  const overRow = (body: (mode: Mode, e: WasmExprEmitter) => void) =>
    vectorLoop(
      c,
      j,
      () => c.get(cols),
      (mode) => body(mode, emitter(mode)),
    );
  c.get(first).get(rows).op('i32.add').set(end);
  c.forRange(
    o,
    () => c.get(first),
    () => c.get(end),
    1,
    () => {
      for (const r of k.reductions) {
        const op = r.op as RowReduceOp;
        const lanes = op === 'sum' ? f64Sum(c) : minMax(c, op);
        overRow((mode, e) => {
          for (const st of r.sideStores) emitStore(c, st.output, st.index, scope, j, mode, () => e.push(st.expr, 'float32'));
          // The tail's element goes into lane 0 of an identity vector, so it combines like the rest.
          if (mode === 'scalar') c.f32x4(REDUCERS[op].identity);
          e.push(r.body, 'float32');
          if (mode === 'scalar') c.lane('f32x4.extract_lane', 0).lane('f32x4.replace_lane', 0);
          lanes.add();
        });
        const acc = c.local('v128');
        lanes.total();
        c.op('f32x4.splat').set(acc);
        accs.set(r.id, acc);
      }
      const e = emitter('scalar');
      for (const s of k.rowStores) emitStore(c, s.output, ivar('o'), scope, j, 'scalar', () => e.push(s.expr, 'float32'));
      if (k.elementStores.length > 0) {
        overRow((mode, e) => {
          for (const s of k.elementStores) emitStore(c, s.output, s.index, scope, j, mode, () => e.push(s.expr, 'float32'));
        });
      }
    },
  );
  const [outer, inner] = [numelOf(k.outer), numelOf(k.inner)];
  const exprs = [...k.reductions.flatMap((r) => [r.body, ...r.sideStores.map((s) => s.expr)]), ...k.elementStores.map((s) => s.expr)];
  return slicedModule(
    mod.toBytes(),
    `rows, f32x4 over j; ${accessSummary(exprs, 'j')}`,
    (values) => {
      const [units, cols] = [sizeValue(outer, values), sizeValue(inner, values)];
      return units > 0 ? { units, elementsPerUnit: cols, rest: [cols, ...values] } : null;
    },
    1,
  );
}
