/**
 * A strided 2-D view copied into a dense row-major block: `copy(dst, src,
 * rows, cols, rowStride, colStride)`, strides in elements, pointers in
 * bytes. What the matmul uses for an operand whose columns are not
 * contiguous (a transposed weight, k^T in attention) before packing it.
 */
import { ModuleBuilder } from './module-builder';
import { compileCached } from './module-cache';
import type { WasmModule } from './wasm-api';

export function stridedCopyModule(): WasmModule {
  return compileCached('stridedCopy', () => {
    const mod = new ModuleBuilder();
    const c = mod.func(['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], 'copy');
    const [dst, src, rows, cols, rs, cs] = [0, 1, 2, 3, 4, 5];
    const [r, col, out] = [c.local('i32'), c.local('i32'), c.local('i32')];
    c.get(dst).set(out);
    c.forRange(
      r,
      () => c.i32(0),
      () => c.get(rows),
      1,
      () =>
        c.forRange(
          col,
          () => c.i32(0),
          () => c.get(cols),
          1,
          () => {
            c.get(out);
            c.get(src).get(r).get(rs).op('i32.mul').get(col).get(cs).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add');
            c.mem('f32.load').mem('f32.store');
            c.get(out).i32(4).op('i32.add').set(out);
          },
        ),
    );
    return mod.toBytes();
  });
}
