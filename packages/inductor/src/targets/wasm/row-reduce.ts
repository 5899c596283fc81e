/**
 * The row reduction kernel: `out[r] = reduce_j expr(in0[r, j], ...)` over
 * rows of `cols` contiguous float32 elements, sum, max or min, four lanes of
 * partial results through the row (f32x4) and the tail folded into lane 0,
 * then the lanes combined. Export `run(out, in0, ..., rows, cols)`.
 */
import type { FunctionBuilder, PlainOp, SimdOp, WasmModule } from '@kiln/eager/kernels';
import { arity, compileCached, emitVExpr, ModuleBuilder, sourceKey, type VExpr } from '@kiln/eager/kernels';
import { emitScalarViaVector } from './pointwise';

export type RowReduceOp = 'sum' | 'max' | 'min';

/** Per op: the identity, the lanewise and scalar combining instructions (max propagates NaN). */
export const REDUCERS: Record<RowReduceOp, { identity: number; vector: SimdOp; scalar: PlainOp }> = {
  sum: { identity: 0, vector: 'f32x4.add', scalar: 'f32.add' },
  max: { identity: Number.NEGATIVE_INFINITY, vector: 'f32x4.max', scalar: 'f32.max' },
  min: { identity: Number.POSITIVE_INFINITY, vector: 'f32x4.min', scalar: 'f32.min' },
};

/** Pushes the f32 combining the four lanes of the v128 local `v`: (l0 ∘ l1) ∘ (l2 ∘ l3). */
export function emitHorizontal(c: FunctionBuilder, v: number, op: RowReduceOp): void {
  const scalar = REDUCERS[op].scalar;
  c.get(v).lane('f32x4.extract_lane', 0).get(v).lane('f32x4.extract_lane', 1).op(scalar);
  c.get(v).lane('f32x4.extract_lane', 2).get(v).lane('f32x4.extract_lane', 3).op(scalar).op(scalar);
}

/** Byte offsets (from each input's pointer) of one row: its start, the end of its whole f32x4 groups, its end. */
export interface RowSpan {
  r: number;
  start: number;
  vecEnd: number;
  end: number;
}

/** Emits `for r < rows` (params `rows`, `cols`), with the row's span in locals; `body` is emitted once. */
export function forEachRow(c: FunctionBuilder, rows: number, cols: number, body: (row: RowSpan) => void): void {
  const row: RowSpan = { r: c.local('i32'), start: c.local('i32'), vecEnd: c.local('i32'), end: c.local('i32') };
  const rowBytes = c.local('i32');
  const vecBytes = c.local('i32');
  c.get(cols).i32(2).op('i32.shl').set(rowBytes);
  c.get(rowBytes).i32(-16).op('i32.and').set(vecBytes);
  c.forRange(
    row.r,
    () => c.i32(0),
    () => c.get(rows),
    1,
    () => {
      c.get(row.r).get(rowBytes).op('i32.mul').tee(row.start).get(vecBytes).op('i32.add').set(row.vecEnd);
      c.get(row.start).get(rowBytes).op('i32.add').set(row.end);
      body(row);
    },
  );
}

export function rowReduceModule(expr: VExpr, op: RowReduceOp): WasmModule {
  const inputs = arity(expr);
  return compileCached(sourceKey('rowReduce', { op, expr }), () => {
    const mod = new ModuleBuilder();
    const c = mod.func(Array(inputs + 3).fill('i32'), [], 'run');
    const [out, rows, cols] = [0, inputs + 1, inputs + 2];
    const { identity, vector } = REDUCERS[op];
    const acc = c.local('v128');
    const j = c.local('i32');
    const at = (k: number) =>
      c
        .get(1 + k)
        .get(j)
        .op('i32.add');
    forEachRow(c, rows, cols, (row) => {
      c.f32x4(identity).set(acc);
      c.forRange(
        j,
        () => c.get(row.start),
        () => c.get(row.vecEnd),
        16,
        () => {
          c.get(acc);
          emitVExpr(c, expr, (k) => at(k).mem('v128.load'));
          c.op(vector).set(acc);
        },
      );
      // Tail elements go into lane 0 of an identity vector, so they combine like the rest.
      c.forRange(
        j,
        () => c.get(row.vecEnd),
        () => c.get(row.end),
        4,
        () => {
          c.get(acc).f32x4(identity);
          emitScalarViaVector(c, expr, (k) => at(k).mem('f32.load'));
          c.lane('f32x4.replace_lane', 0).op(vector).set(acc);
        },
      );
      c.get(out).get(row.r).i32(2).op('i32.shl').op('i32.add');
      emitHorizontal(c, acc, op);
      c.mem('f32.store');
    });
    return mod.toBytes();
  });
}
