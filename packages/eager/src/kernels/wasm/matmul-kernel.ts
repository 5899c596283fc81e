/**
 * The matmul module: C = epilogue([C +] A·B [+ bias]) for float32 A [M, K]
 * read through its strides, C [M, N] with leading dimension ldc, and B
 * packed into panels of NR columns (`packB` from any strides: panel p holds
 * columns p·NR.. as K rows of NR floats, zero-padded past N).
 *
 * The micro-kernel keeps an MR x NR tile of C in MR·NR/4 f32x4 registers
 * and, per k, broadcasts MR elements of A (the first four from one vector
 * load, by shuffles) and loads NR/4 vectors of B; the tile
 * is sized to fit x86's 16 xmm registers (see DEFAULT_MATMUL), so V8 keeps
 * it in registers. K is cut into blocks of KC (the tile's B panel, KC·NR
 * floats, stays in L1) and M into blocks of MC rows (A's block stays in
 * L2); the k loop is unrolled by UNROLL with the steps' offsets folded into
 * the memory immediates. Each M x K block of A is packed into MR-row panels
 * (k-major), so the micro-kernel reads A sequentially through one pointer.
 * Partial tiles (M and N tails) run on a zero-padded scratch tile copied in
 * and out, so the micro-kernel has one shape; A rows past M repeat the last
 * row (read, never stored). The epilogue (bias along N, then a pointwise
 * expression of the value as input 0) runs on the registers after the last
 * K block.
 *
 * An element's sum is the same whatever M, the row range or the thread:
 * float32, each KC block summed in k order from the previous blocks' total
 * (or zero), bias after the last block. Each step is a product rounded,
 * then added, or with `fma` relaxed SIMD's multiply-add: one instruction,
 * fused (rounded once) where the CPU has FMA, as native sgemm does.
 *
 * Exports: `packB(dst, src, K, N, sk, sn, panels)`, `gemm(A, sam, sak, Bp, C, ldc,
 * M, N, K, bias, scratch, accumulate)`; pointers in bytes, strides in
 * elements; bias must hold ⌈N/NR⌉·NR floats (padding read, never used);
 * scratch MR·NR + MC·KC floats, one per thread running at once.
 */
import type { FunctionBuilder } from './function-builder';
import { ModuleBuilder } from './module-builder';
import { compileCached, sourceKey } from './module-cache';
import { relaxedMaddAvailable } from './simd-probe';
import { arity, emitVExpr, type VExpr } from './vexpr';
import type { WasmModule } from './wasm-api';

export interface MatmulConfig {
  /** Tile rows (A broadcasts per k). */
  mr: number;
  /** Tile columns, a multiple of 4 (B vectors per k: nr / 4). */
  nr: number;
  /** K block. */
  kc: number;
  /** M block. */
  mc: number;
  /** k steps per loop iteration. */
  unroll: number;
  /** Add bias[n] (a vector of N floats, padded) after the product. */
  bias: boolean;
  /** Each k step as f32x4.relaxed_madd (where the engine validates it: relaxedMaddAvailable), not a mul and an add. */
  fma: boolean;
  /** Pointwise expression applied last, of the value as input(0); absent: none. */
  activation?: VExpr;
}

/**
 * 6x8: 12 accumulators + 2 B vectors + A's broadcast and its quad = 16 xmm
 * registers, 12 multiply-adds per 5 loads and 4 shuffles per k. In one loaded run (1024³, GFLOP/s
 * per CPU-second, medians of 9) it led 4x8 by ~8%; 4x12 and 4x16 were no
 * better, KC 128–512 within noise. The multiply-add is fused where the
 * engine allows (1024³ on one thread: 20.5 -> 28.4 GFLOP/s in one run).
 */
export const DEFAULT_MATMUL: MatmulConfig = { mr: 6, nr: 8, kc: 256, mc: 120, unroll: 4, bias: false, fma: relaxedMaddAvailable() };

const i32s = (n: number): 'i32'[] => Array(n).fill('i32');

/** Pushes min(a, b) of the i32 values the emitters push (each runs twice: keep them side-effect free). */
function emitMinI32(c: FunctionBuilder, a: () => void, b: () => void): void {
  a();
  b();
  a();
  b();
  c.op('i32.lt_s').op('select');
}

/**
 * The micro-kernel: tile(a, bp, c, ldc, kc, last, bias, load), `a` an MR-row
 * panel of packed A (k-major, MR per k); the sums start from C where `load`,
 * else from zeros.
 */
function emitTile(mod: ModuleBuilder, cfg: MatmulConfig): FunctionBuilder {
  const { mr, nr, unroll } = cfg;
  const vecs = nr / 4;
  const c = mod.func(i32s(8), []);
  const [a, bp, cp, ldc, kc, last, bias, load] = [0, 1, 2, 3, 4, 5, 6, 7];
  const acc = Array.from({ length: mr }, () => Array.from({ length: vecs }, () => c.local('v128')));
  const bv = Array.from({ length: vecs }, () => c.local('v128'));
  const av = c.local('v128');
  // Rows 0-3 of a k step come from one v128 load of packed A, each broadcast by a shuffle; splat loads
  // for the rest (fewer loads per multiply-add: 1024³ on one thread 31-32 -> 37-38 GFLOP/s).
  const quad = mr >= 4 ? c.local('v128') : undefined;
  const k = c.local('i32');
  const cRow = (r: number) =>
    c
      .get(cp)
      .get(ldc)
      .i32(r * 4)
      .op('i32.mul')
      .op('i32.add');
  c.get(load).ifElse(
    () => {
      for (let r = 0; r < mr; r++)
        for (let v = 0; v < vecs; v++)
          cRow(r)
            .mem('v128.load', 16 * v)
            .set(acc[r]![v]!);
    },
    () => {
      for (const x of acc.flat()) c.f32x4(0).set(x);
    },
  );
  /** One k step at element offset u from the pointers. */
  const step = (u: number) => {
    for (let v = 0; v < vecs; v++)
      c.get(bp)
        .mem('v128.load', 4 * (u * nr + 4 * v))
        .set(bv[v]!);
    if (quad !== undefined)
      c.get(a)
        .mem('v128.load', 4 * u * mr)
        .set(quad);
    for (let r = 0; r < mr; r++) {
      if (quad !== undefined && r < 4) c.get(quad).get(quad).shuffle32([r, r, r, r]).set(av);
      else
        c.get(a)
          .mem('v128.load32_splat', 4 * (u * mr + r))
          .set(av);
      for (let v = 0; v < vecs; v++) {
        if (cfg.fma) c.get(av).get(bv[v]!).get(acc[r]![v]!).op('f32x4.relaxed_madd').set(acc[r]![v]!);
        else c.get(acc[r]![v]!).get(av).get(bv[v]!).op('f32x4.mul').op('f32x4.add').set(acc[r]![v]!);
      }
    }
  };
  const advance = (steps: number) => {
    c.get(a)
      .i32(4 * mr * steps)
      .op('i32.add')
      .set(a);
    c.get(bp)
      .i32(4 * nr * steps)
      .op('i32.add')
      .set(bp);
  };
  // k counts down the steps left: unrolled groups while at least `unroll` remain, then single steps.
  c.get(kc).set(k);
  c.block(() =>
    c.loop(() => {
      c.get(k).i32(unroll).op('i32.lt_s').brIf(1);
      for (let u = 0; u < unroll; u++) step(u);
      advance(unroll);
      c.get(k).i32(unroll).op('i32.sub').set(k).br(0);
    }),
  );
  c.block(() =>
    c.loop(() => {
      c.get(k).op('i32.eqz').brIf(1);
      step(0);
      advance(1);
      c.get(k).i32(1).op('i32.sub').set(k).br(0);
    }),
  );
  c.get(last).ifElse(() => {
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < vecs; v++) {
        const x = acc[r]![v]!;
        if (cfg.bias)
          c.get(x)
            .get(bias)
            .mem('v128.load', 16 * v)
            .op('f32x4.add')
            .set(x);
        if (cfg.activation) {
          emitVExpr(c, cfg.activation, () => c.get(x));
          c.set(x);
        }
      }
    }
  });
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < vecs; v++) {
      cRow(r)
        .get(acc[r]![v]!)
        .mem('v128.store', 16 * v);
    }
  }
  return c;
}

/** copy(dst, ldd, src, lds, rows, cols): a rows x cols block, leading dimensions in elements. */
function emitCopy(mod: ModuleBuilder): FunctionBuilder {
  const c = mod.func(i32s(6), []);
  const [dst, ldd, src, lds, rows, cols] = [0, 1, 2, 3, 4, 5];
  const [r, j] = [c.local('i32'), c.local('i32')];
  const at = (p: number, ld: number) => c.get(p).get(r).get(ld).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.shl').op('i32.add');
  c.forRange(
    r,
    () => c.i32(0),
    () => c.get(rows),
    1,
    () =>
      c.forRange(
        j,
        () => c.i32(0),
        () => c.get(cols),
        1,
        () => {
          at(dst, ldd);
          at(src, lds).mem('f32.load');
          c.mem('f32.store');
        },
      ),
  );
  return c;
}

/**
 * packB(dst, src, K, N, sk, sn, panels): `panels` panels of B (read through
 * its strides, in elements) from column 0, columns from N on zeros (a slice
 * of panels passes N less the columns before it). Rows of B contiguous (sn
 * = 1): whole panels by vectors, a panel crossing N element by element.
 * Otherwise (a transposed weight, sk = 1) column by column, so reads walk
 * down a contiguous column. Pointers step; nothing is multiplied per element.
 */
function emitPackB(mod: ModuleBuilder, nr: number): void {
  const c = mod.func(i32s(7), [], 'packB');
  const [dst, src, K, N, sk, sn, panels] = [0, 1, 2, 3, 4, 5, 6];
  const [j0, k, j, out, from, skBytes] = Array.from({ length: 6 }, () => c.local('i32'));
  const loopK = (body: () => void) =>
    c.forRange(
      k,
      () => c.i32(0),
      () => c.get(K),
      1,
      body,
    );
  /** out += step bytes. */
  const advance = (p: number, step: () => void) => {
    c.get(p);
    step();
    c.op('i32.add').set(p);
  };
  const panelEnd = () => c.get(panels).i32(nr).op('i32.mul');
  const rowsContiguous = () =>
    c.forRange(
      j0,
      () => c.i32(0),
      panelEnd,
      nr,
      () => {
        // Row k of the panel starts at src + (k·sk + j0)·4.
        c.get(src).get(j0).i32(2).op('i32.shl').op('i32.add').set(from);
        c.get(j0)
          .i32(nr)
          .op('i32.add')
          .get(N)
          .op('i32.le_s')
          .ifElse(
            () =>
              loopK(() => {
                for (let v = 0; v < nr / 4; v++)
                  c.get(out)
                    .get(from)
                    .mem('v128.load', 16 * v)
                    .mem('v128.store', 16 * v);
                advance(from, () => c.get(skBytes));
                advance(out, () => c.i32(4 * nr));
              }),
            () =>
              loopK(() => {
                for (let col = 0; col < nr; col++) {
                  // Past N: 0, without reading (the last row's padding may lie past the end of memory).
                  c.get(out);
                  c.get(j0)
                    .i32(col)
                    .op('i32.add')
                    .get(N)
                    .op('i32.lt_s')
                    .ifElse(
                      () => c.get(from).mem('f32.load', 4 * col),
                      () => c.f32(0),
                      'f32',
                    );
                  c.mem('f32.store', 4 * col);
                }
                advance(from, () => c.get(skBytes));
                advance(out, () => c.i32(4 * nr));
              }),
          );
      },
    );
  const byColumns = () =>
    c.forRange(
      j0,
      () => c.i32(0),
      panelEnd,
      nr,
      () =>
        c.forRange(
          j,
          () => c.i32(0),
          () => c.i32(nr),
          1,
          () => {
            // Column j of panel j0/nr starts j floats into the panel (K·NR floats per panel).
            c.get(dst).get(j0).get(K).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(out);
            c.get(j0)
              .get(j)
              .op('i32.add')
              .get(N)
              .op('i32.lt_s')
              .ifElse(
                () => {
                  c.get(src).get(j0).get(j).op('i32.add').get(sn).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(from);
                  loopK(() => {
                    c.get(out).get(from).mem('f32.load').mem('f32.store');
                    advance(from, () => c.get(skBytes));
                    advance(out, () => c.i32(4 * nr));
                  });
                },
                () =>
                  loopK(() => {
                    c.get(out).f32(0).mem('f32.store');
                    advance(out, () => c.i32(4 * nr));
                  }),
              );
          },
        ),
    );
  c.get(sk).i32(2).op('i32.shl').set(skBytes);
  c.get(dst).set(out);
  c.get(sn).i32(1).op('i32.eq').ifElse(rowsContiguous, byColumns);
}

/**
 * packA(dst, src, sam, sak, rows, kc): a rows x kc block of A (strides sam,
 * sak in elements) as MR-row panels, k-major (MR floats per k), so the
 * micro-kernel reads A sequentially (unpacked rows a power of two apart
 * alias in cache); rows past the block repeat its last row.
 */
function emitPackA(mod: ModuleBuilder, mr: number): FunctionBuilder {
  const c = mod.func(i32s(6), []);
  const [dst, src, sam, sak, rows, kc] = [0, 1, 2, 3, 4, 5];
  const [i0, k, offset, step] = [c.local('i32'), c.local('i32'), c.local('i32'), c.local('i32')];
  const rowPtr = Array.from({ length: mr }, () => c.local('i32'));
  c.get(sak).i32(2).op('i32.shl').set(step);
  c.forRange(
    i0,
    () => c.i32(0),
    () => c.get(rows),
    mr,
    () => {
      for (let r = 0; r < mr; r++) {
        c.get(src);
        emitMinI32(
          c,
          () => c.get(i0).i32(r).op('i32.add'),
          () => c.get(rows).i32(1).op('i32.sub'),
        );
        c.get(sam).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(rowPtr[r]!);
      }
      c.i32(0).set(offset);
      c.forRange(
        k,
        () => c.i32(0),
        () => c.get(kc),
        1,
        () => {
          for (let r = 0; r < mr; r++)
            c.get(dst)
              .get(rowPtr[r]!)
              .get(offset)
              .op('i32.add')
              .mem('f32.load')
              .mem('f32.store', 4 * r);
          c.get(offset).get(step).op('i32.add').set(offset);
          c.get(dst)
            .i32(4 * mr)
            .op('i32.add')
            .set(dst);
        },
      );
    },
  );
  return c;
}

export function matmulModule(cfg: MatmulConfig = DEFAULT_MATMUL): WasmModule {
  if (cfg.nr % 4 !== 0 || cfg.mr < 1 || cfg.kc < 1 || cfg.mc % cfg.mr !== 0 || cfg.unroll < 1) {
    throw new Error(`bad matmul config ${JSON.stringify(cfg)}`);
  }
  if (cfg.activation && arity(cfg.activation) > 1) throw new Error('a matmul epilogue reads only the value (input 0)');
  return compileCached(sourceKey('matmul', cfg), () => {
    const mod = new ModuleBuilder();
    const tile = emitTile(mod, cfg);
    const copy = emitCopy(mod);
    const packA = emitPackA(mod, cfg.mr);
    emitPackB(mod, cfg.nr);
    emitGemm(mod, cfg, { tile, copy, packA });
    return mod.toBytes();
  });
}

/** gemm(A, sam, sak, Bp, C, ldc, M, N, K, bias, scratch, accumulate): the blocked loops around the micro-kernel. */
function emitGemm(
  mod: ModuleBuilder,
  cfg: MatmulConfig,
  fns: { tile: FunctionBuilder; copy: FunctionBuilder; packA: FunctionBuilder },
): void {
  const { tile, copy, packA } = fns;
  const { mr, nr, kc: KC, mc: MC } = cfg;
  const c = mod.func(i32s(12), [], 'gemm');
  const [A, sam, sak, Bp, C, ldc, M, N, K, bias, scratch, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [k0, kc, last, i1, iEnd, j0, i0, rows, cols, bpk, ctile, apack] = Array.from({ length: 12 }, () => c.local('i32'));
  const min = (a: () => void, b: () => void) => emitMinI32(c, a, b);
  const callTile = (cPtr: () => void, ld: () => void) => {
    // The tile's panel of packed A: (i0 - i1)/MR panels of MR·kc floats in.
    c.get(apack).get(i0).get(i1).op('i32.sub').get(kc).op('i32.mul').i32(2).op('i32.shl').op('i32.add');
    c.get(bpk).get(j0).get(K).op('i32.mul').i32(2).op('i32.shl').op('i32.add');
    cPtr();
    ld();
    c.get(kc).get(last).get(bias).get(j0).i32(2).op('i32.shl').op('i32.add');
    // The sums start from C after the first K block, or where C is accumulated into.
    c.get(k0).i32(0).op('i32.gt_s').get(accumulate).op('i32.or').call(tile);
  };
  // scratch: the partial-tile buffer (MR·NR floats), then packed A (MC·KC floats).
  c.get(scratch)
    .i32(4 * mr * nr)
    .op('i32.add')
    .set(apack);
  // A do-while over K blocks, so K = 0 still makes one pass (C + bias through the epilogue).
  c.i32(0).set(k0);
  c.loop(() => {
    min(
      () => c.i32(KC),
      () => c.get(K).get(k0).op('i32.sub'),
    );
    c.set(kc);
    c.get(k0).get(kc).op('i32.add').get(K).op('i32.ge_s').set(last);
    // B's rows k0.. within each panel start k0·NR floats in.
    c.get(Bp)
      .get(k0)
      .i32(4 * nr)
      .op('i32.mul')
      .op('i32.add')
      .set(bpk);
    c.forRange(
      i1,
      () => c.i32(0),
      () => c.get(M),
      MC,
      () => {
        min(
          () => c.get(i1).i32(MC).op('i32.add'),
          () => c.get(M),
        );
        c.set(iEnd);
        c.get(apack).get(A).get(i1).get(sam).op('i32.mul').get(k0).get(sak).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add');
        c.get(sam).get(sak).get(iEnd).get(i1).op('i32.sub').get(kc).call(packA);
        c.forRange(
          j0,
          () => c.i32(0),
          () => c.get(N),
          nr,
          () => {
            min(
              () => c.i32(nr),
              () => c.get(N).get(j0).op('i32.sub'),
            );
            c.set(cols);
            c.forRange(
              i0,
              () => c.get(i1),
              () => c.get(iEnd),
              mr,
              () => {
                min(
                  () => c.i32(mr),
                  () => c.get(M).get(i0).op('i32.sub'),
                );
                c.set(rows);
                c.get(C).get(i0).get(ldc).op('i32.mul').get(j0).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(ctile);
                c.get(rows)
                  .i32(mr)
                  .op('i32.eq')
                  .get(cols)
                  .i32(nr)
                  .op('i32.eq')
                  .op('i32.and')
                  .ifElse(
                    () =>
                      callTile(
                        () => c.get(ctile),
                        () => c.get(ldc),
                      ),
                    () => {
                      // Partial tile: through the zeroed scratch tile (ld = NR).
                      for (let v = 0; v < (mr * nr) / 4; v++)
                        c.get(scratch)
                          .f32x4(0)
                          .mem('v128.store', 16 * v);
                      c.get(scratch).i32(nr).get(ctile).get(ldc).get(rows).get(cols).call(copy);
                      callTile(
                        () => c.get(scratch),
                        () => c.i32(nr),
                      );
                      c.get(ctile).get(ldc).get(scratch).i32(nr).get(rows).get(cols).call(copy);
                    },
                  );
              },
            );
          },
        );
      },
    );
    c.get(k0).get(kc).op('i32.add').tee(k0).get(K).op('i32.lt_s').brIf(0);
  });
}
