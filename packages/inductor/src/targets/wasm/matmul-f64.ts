/**
 * The compiled graphs' matmul: float32 operands, products and sums in
 * float64 (f64x2), rounded once to float32, as eager's cpu matmul computes
 * (its sums are doubles): the numeric contract's 1e-5 absolute tolerance
 * does not hold for float32 sums of a few hundred products, nor do
 * float32 sums overflow where eager's do. (./matmul-kernel's float32 6x8
 * kernel is about twice as fast.)
 *
 * `pack(dst, src, K, N, sk, sn)` converts B (strides sk, sn in elements,
 * any layout) to float64 panels of 4 columns (K rows of 4, zero past N).
 * `gemm(A, sm, sk, Bp, C, M, N, K)` writes C = A·B, row-major [M, N], A
 * read through its strides; a 4x4 tile keeps 8 f64x2 accumulators. Rows
 * past M repeat the last row (read, never stored). Pointers in bytes.
 */
import type { FunctionBuilder, WasmModule } from '@kiln/eager/kernels';
import { compileCached, ModuleBuilder } from '@kiln/eager/kernels';

const TILE = 4;
/** Bytes of one k row of a packed panel: 4 doubles. */
const PANEL_ROW = TILE * 8;

const i32s = (n: number): 'i32'[] => Array(n).fill('i32');

/** `for (i = 0; i < end; i += step) body`, `end` an i32 local or param. */
const upTo = (c: FunctionBuilder, i: number, end: number, step: number, body: () => void): FunctionBuilder =>
  c.forRange(
    i,
    () => c.i32(0),
    () => c.get(end),
    step,
    body,
  );

/** Pushes the element offset r·sr + c·sc (locals and params) as a byte offset from `base`. */
function strided(c: FunctionBuilder, base: number, r: number, sr: number, col: () => void, sc: number): void {
  c.get(base).get(r).get(sr).op('i32.mul');
  col();
  c.get(sc).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add');
}

function emitPack(mod: ModuleBuilder): void {
  const c = mod.func(i32s(6), [], 'pack');
  const [dst, src, K, N, sk, sn] = [0, 1, 2, 3, 4, 5];
  const [n0, k, out] = [c.local('i32'), c.local('i32'), c.local('i32')];
  c.get(dst).set(out);
  upTo(c, n0, N, TILE, () =>
    upTo(c, k, K, 1, () => {
      for (let col = 0; col < TILE; col++) {
        c.get(out);
        // Columns past N are zeros: their products are computed and never stored.
        c.get(n0).i32(col).op('i32.add').get(N).op('i32.lt_s');
        c.ifElse(
          () => {
            strided(c, src, k, sk, () => c.get(n0).i32(col).op('i32.add'), sn);
            c.mem('f32.load');
          },
          () => c.f32(0),
          'f32',
        );
        c.op('f64.promote_f32').mem('f64.store', 8 * col);
      }
      c.get(out).i32(PANEL_ROW).op('i32.add').set(out);
    }),
  );
}

function emitGemm(mod: ModuleBuilder): void {
  const c = mod.func(i32s(8), [], 'gemm');
  const [A, sm, sk, Bp, C, M, N, K] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [n0, m0, k, b, skBytes] = [c.local('i32'), c.local('i32'), c.local('i32'), c.local('i32'), c.local('i32')];
  const rows = Array.from({ length: TILE }, () => c.local('i32'));
  const acc = Array.from({ length: TILE }, () => [c.local('v128'), c.local('v128')] as const);
  const [b0, b1] = [c.local('v128'), c.local('v128')];
  c.get(sk).i32(2).op('i32.shl').set(skBytes);
  upTo(c, n0, N, TILE, () =>
    upTo(c, m0, M, TILE, () => {
      // Row r's pointer at k = 0, the row index clamped to M - 1.
      rows.forEach((row, r) => {
        c.get(A);
        c.get(m0).i32(r).op('i32.add').get(M).i32(1).op('i32.sub');
        c.get(m0).i32(r).op('i32.add').get(M).i32(1).op('i32.sub').op('i32.lt_s').op('select');
        c.get(sm).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(row);
      });
      for (const [lo, hi] of acc) {
        // All-zero bits: 0.0 in both f64 lanes.
        c.f32x4(0).set(lo);
        c.f32x4(0).set(hi);
      }
      c.get(Bp).get(n0).i32(TILE).op('i32.div_s').get(K).op('i32.mul').i32(PANEL_ROW).op('i32.mul').op('i32.add').set(b);
      upTo(c, k, K, 1, () => {
        c.get(b).mem('v128.load').set(b0);
        c.get(b).mem('v128.load', 16).set(b1);
        rows.forEach((row, r) => {
          const a = () => c.get(row).mem('f32.load').op('f64.promote_f32').op('f64x2.splat');
          const [lo, hi] = acc[r]!;
          c.get(lo);
          a();
          c.get(b0).op('f64x2.mul').op('f64x2.add').set(lo);
          c.get(hi);
          a();
          c.get(b1).op('f64x2.mul').op('f64x2.add').set(hi);
          c.get(row).get(skBytes).op('i32.add').set(row);
        });
        c.get(b).i32(PANEL_ROW).op('i32.add').set(b);
      });
      for (let r = 0; r < TILE; r++) {
        for (let col = 0; col < TILE; col++) {
          c.get(m0).i32(r).op('i32.add').get(M).op('i32.lt_s');
          c.get(n0).i32(col).op('i32.add').get(N).op('i32.lt_s').op('i32.and');
          c.ifElse(() => {
            c.get(C);
            c.get(m0).i32(r).op('i32.add').get(N).op('i32.mul').get(n0).op('i32.add').i32(col).op('i32.add').i32(2).op('i32.shl');
            c.op('i32.add');
            c.get(acc[r]![col >> 1]!)
              .lane('f64x2.extract_lane', col & 1)
              .op('f32.demote_f64')
              .mem('f32.store');
          });
        }
      }
    }),
  );
}

export function matmulF64Module(): WasmModule {
  return compileCached('matmulF64', () => {
    const mod = new ModuleBuilder();
    emitPack(mod);
    emitGemm(mod);
    return mod.toBytes();
  });
}
