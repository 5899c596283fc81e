/**
 * The pointwise kernel: `out[i] = expr(in0[i], in1[i], ...)` for n
 * contiguous float32 elements, four at a time (f32x4) with a scalar tail
 * for the last n mod 4. Export `run(out, in0, ..., n)`, pointers in bytes.
 */
import type { FunctionBuilder, WasmModule } from '@kiln/eager/kernels';
import { arity, compileCached, emitVExpr, ModuleBuilder, sourceKey, type VExpr } from '@kiln/eager/kernels';

/** Pushes expr on four elements at byte offset `off` (a local) of each input pointer (params 1..). */
function emitVectorBody(c: FunctionBuilder, expr: VExpr, off: number): void {
  emitVExpr(c, expr, (k) =>
    c
      .get(1 + k)
      .get(off)
      .op('i32.add')
      .mem('v128.load'),
  );
}

/** Pushes expr's value for the one element at `off`: computed on the splatted element, lane 0 kept. */
export function emitScalarViaVector(c: FunctionBuilder, expr: VExpr, loadElement: (index: number) => void): void {
  emitVExpr(c, expr, (k) => {
    loadElement(k);
    c.op('f32x4.splat');
  });
  c.lane('f32x4.extract_lane', 0);
}

export function pointwiseModule(expr: VExpr): WasmModule {
  const inputs = arity(expr);
  return compileCached(sourceKey('pointwise', expr), () => {
    const mod = new ModuleBuilder();
    const c = mod.func(Array(inputs + 2).fill('i32'), [], 'run');
    const out = 0;
    const n = inputs + 1;
    const off = c.local('i32');
    const vecEnd = c.local('i32');
    // Byte offsets: the main loop covers the first 4·⌊n/4⌋ elements.
    c.get(n).i32(-4).op('i32.and').i32(2).op('i32.shl').set(vecEnd);
    c.forRange(
      off,
      () => c.i32(0),
      () => c.get(vecEnd),
      16,
      () => {
        c.get(out).get(off).op('i32.add');
        emitVectorBody(c, expr, off);
        c.mem('v128.store');
      },
    );
    c.forRange(
      off,
      () => c.get(vecEnd),
      () => c.get(n).i32(2).op('i32.shl'),
      4,
      () => {
        c.get(out).get(off).op('i32.add');
        emitScalarViaVector(c, expr, (k) =>
          c
            .get(1 + k)
            .get(off)
            .op('i32.add')
            .mem('f32.load'),
        );
        c.mem('f32.store');
      },
    );
    return mod.toBytes();
  });
}
