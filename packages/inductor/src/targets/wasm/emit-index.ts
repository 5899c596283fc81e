/**
 * Loop-IR index arithmetic as i32 wasm code, and the question the kernel
 * renderers ask of each load: how its index moves with the loop variable
 * (contiguously: one v128 load; not at all: one splat before the loop;
 * otherwise: four scalar loads, one per lane).
 */

import type { FunctionBuilder } from '@kiln/eager/kernels';
import type { Index } from '../../ir/expr';
import { NoWasmForm } from './no-wasm-form';

/** Where the emitted code finds index variables (`i`, `o`, `j`) and dynamic sizes: i32 locals or params. */
export interface IndexScope {
  readonly vars: Readonly<Record<string, number>>;
  readonly syms: number;
}

/** Pushes `ix` as an i32. Indices are never negative and below 2^31, so division and remainder are unsigned. */
export function emitIndex(c: FunctionBuilder, ix: Index, scope: IndexScope): void {
  switch (ix.kind) {
    case 'int':
      c.i32(ix.value);
      return;
    case 'var': {
      const local = scope.vars[ix.name];
      if (local === undefined) throw new Error(`index variable ${ix.name} is not in scope`);
      c.get(local);
      return;
    }
    case 'sym':
      c.get(scope.syms + ix.sym);
      return;
    case 'min':
      // select(a, b, a < b): both operands are pure, so emitting them twice is safe.
      emitIndex(c, ix.a, scope);
      emitIndex(c, ix.b, scope);
      emitIndex(c, ix.a, scope);
      emitIndex(c, ix.b, scope);
      c.op('i32.lt_u').op('select');
      return;
    case 'value':
      throw new NoWasmForm('a data-dependent index (gather)');
    default:
      emitIndex(c, ix.a, scope);
      emitIndex(c, ix.b, scope);
      c.op(({ add: 'i32.add', mul: 'i32.mul', div: 'i32.div_u', mod: 'i32.rem_u' } as const)[ix.kind]);
  }
}

/** Whether `ix` reads loop variable `name`. */
export function uses(ix: Index, name: string): boolean {
  switch (ix.kind) {
    case 'var':
      return ix.name === name;
    case 'int':
    case 'sym':
      return false;
    case 'value':
      return true;
    default:
      return uses(ix.a, name) || uses(ix.b, name);
  }
}

/** How a load's index moves with `name`: as `name` plus a constant of the loop (one vector load), not at all (a splat), or otherwise (a load per lane). */
export type Access = 'contiguous' | 'uniform' | 'gather';

export function accessOf(ix: Index, name: string): Access {
  if (!uses(ix, name)) return 'uniform';
  return unitStride(ix, name) ? 'contiguous' : 'gather';
}

/** Whether `ix` is `b + name` with `b` free of `name`. */
function unitStride(ix: Index, name: string): boolean {
  if (ix.kind === 'var') return ix.name === name;
  if (ix.kind !== 'add') return false;
  return (!uses(ix.b, name) && unitStride(ix.a, name)) || (!uses(ix.a, name) && unitStride(ix.b, name));
}
