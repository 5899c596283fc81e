/**
 * The loop shape every wasm kernel of the IR uses over its innermost
 * variable (`i` of a pointwise kernel, `j` of a row): f32x4 steps over the
 * whole groups of four, then a scalar tail that runs the same code on one
 * splatted element (lane 0 kept). Loads and stores are spelled by how their
 * index moves with the variable (./emit-index): a v128 access where it is
 * contiguous, a splat of one element where it does not move (a broadcast),
 * four scalar loads otherwise (strided or broadcast views).
 */

import type { FunctionBuilder } from '@kiln/eager/kernels';
import type { Index } from '../../ir/expr';
import type { ReadExpr } from './emit-expr';
import { accessOf, emitIndex, type IndexScope } from './emit-index';
import { NoWasmForm } from './no-wasm-form';

/** The pointer param of what `read` reads: kernels take their outputs' pointers first, then their inputs'. */
export function readPointer(read: ReadExpr, outputs: number): number {
  return read.kind === 'load' ? outputs + read.input : read.output;
}

/** The main loop's four lanes, or the tail's one element (splatted). */
export type Mode = 'vector' | 'scalar';

/** A loop variable: its name in the IR and its i32 locals (the variable, and a scratch for per-lane indices). */
export interface LoopVar {
  readonly name: string;
  readonly local: number;
  readonly lane: number;
}

export function loopVar(c: FunctionBuilder, name: string): LoopVar {
  return { name, local: c.local('i32'), lane: c.local('i32') };
}

/** Emits the loop of `v` over [first, first + count) (`first` pushes 0 when absent), with `body` emitted once per mode. */
export function vectorLoop(c: FunctionBuilder, v: LoopVar, count: () => void, body: (mode: Mode) => void, first = () => c.i32(0)): void {
  const [vecEnd, end] = [c.local('i32'), c.local('i32')];
  first();
  count();
  c.op('i32.add').set(end);
  first();
  count();
  c.i32(-4).op('i32.and').op('i32.add').set(vecEnd);
  c.forRange(
    v.local,
    first,
    () => c.get(vecEnd),
    4,
    () => body('vector'),
  );
  c.forRange(
    v.local,
    () => c.get(vecEnd),
    () => c.get(end),
    1,
    () => body('scalar'),
  );
}

/** Pushes the byte address of element `ix` of the buffer at pointer param `ptr`, `v` read from local `at`. */
function address(c: FunctionBuilder, ptr: number, ix: Index, scope: IndexScope, v: LoopVar, at: number): void {
  c.get(ptr);
  emitIndex(c, ix, { ...scope, vars: { ...scope.vars, [v.name]: at } });
  c.i32(2).op('i32.shl').op('i32.add');
}

/** Pushes the v128 of float32 element `ix` of the buffer at `ptr`: four lanes, or one element splatted. */
export function emitLoad(c: FunctionBuilder, ptr: number, ix: Index, scope: IndexScope, v: LoopVar, mode: Mode): void {
  const access = accessOf(ix, v.name);
  if (mode === 'scalar' || access === 'uniform') {
    address(c, ptr, ix, scope, v, v.local);
    c.mem('f32.load').op('f32x4.splat');
  } else if (access === 'contiguous') {
    address(c, ptr, ix, scope, v, v.local);
    c.mem('v128.load');
  } else {
    c.f32x4(0);
    for (let l = 0; l < 4; l++) {
      c.get(v.local).i32(l).op('i32.add').set(v.lane);
      address(c, ptr, ix, scope, v, v.lane);
      c.mem('f32.load').lane('f32x4.replace_lane', l);
    }
  }
}

/** Stores the v128 `push` pushes at element `ix` of the buffer at `ptr`: four lanes (contiguous in `v`), or lane 0. */
export function emitStore(c: FunctionBuilder, ptr: number, ix: Index, scope: IndexScope, v: LoopVar, mode: Mode, push: () => void): void {
  if (mode === 'vector' && accessOf(ix, v.name) !== 'contiguous') throw new NoWasmForm('a store that is not contiguous');
  address(c, ptr, ix, scope, v, v.local);
  push();
  if (mode === 'vector') c.mem('v128.store');
  else c.lane('f32x4.extract_lane', 0).mem('f32.store');
}

/** Pushes the lane mask (all ones where true) of the index comparison a < b: per lane, or once and splatted where neither moves with `v`. */
export function emitIndexLess(c: FunctionBuilder, a: Index, b: Index, scope: IndexScope, v: LoopVar, mode: Mode): void {
  /** Pushes 0 - (a < b) at `v` = local `at`: -1 (all ones) or 0. */
  const lessAt = (at: number) => {
    const here = { ...scope, vars: { ...scope.vars, [v.name]: at } };
    c.i32(0);
    emitIndex(c, a, here);
    emitIndex(c, b, here);
    c.op('i32.lt_s').op('i32.sub');
  };
  if (mode === 'scalar' || (accessOf(a, v.name) === 'uniform' && accessOf(b, v.name) === 'uniform')) {
    lessAt(v.local);
    c.op('i32x4.splat');
    return;
  }
  c.i32x4(0);
  for (let l = 0; l < 4; l++) {
    c.get(v.local).i32(l).op('i32.add').set(v.lane);
    lessAt(v.lane);
    c.lane('i32x4.replace_lane', l);
  }
}
