/**
 * Softmax over rows in one reading pass for the statistics: each lane keeps
 * a running max m and a sum s of exp(x - m) (the online softmax: when the
 * max grows, s is rescaled by exp(m_old - m_new)); the lanes are combined
 * at the row's end and a second pass writes exp(x - M) / S.
 * Export `run(out, in, rows, cols)`.
 *
 * Non-finite inputs give what the two-pass float64 formula gives: -Inf
 * elements add nothing (a masked row of all -Inf is NaN, 0/0), a row with
 * NaN or +Inf is NaN throughout.
 */
import type { FunctionBuilder, WasmModule } from '@kiln/eager/kernels';
import { compileCached, emitExp, ModuleBuilder } from '@kiln/eager/kernels';
import { emitHorizontal, forEachRow } from './row-reduce';

/**
 * Folds the f32x4 local x into the running (m, s): one exp per element, since
 * one of m and x is the new max: d = exp(-|x - m|); s = x > m ? s·d + 1 : s + d.
 */
function emitOnlineUpdate(c: FunctionBuilder, x: number, m: number, s: number): void {
  const d = c.local('v128');
  c.get(x).get(m).op('f32x4.sub').op('f32x4.abs').op('f32x4.neg');
  emitExp(c);
  c.set(d);
  c.get(s).get(d).op('f32x4.mul').f32x4(1).op('f32x4.add');
  c.get(s).get(d).op('f32x4.add');
  c.get(x).get(m).op('f32x4.gt').op('v128.bitselect');
  // -Inf elements (and the padding lanes of the tail) leave s as it is (x - m would be NaN when m is -Inf too).
  c.get(s).get(x).f32x4(Number.NEGATIVE_INFINITY).op('f32x4.ne').op('v128.bitselect').set(s);
  c.get(m).get(x).op('f32x4.max').set(m);
}

export function softmaxModule(): WasmModule {
  return compileCached('softmax', () => {
    const mod = new ModuleBuilder();
    const c = mod.func(['i32', 'i32', 'i32', 'i32'], [], 'run');
    const [out, src, rows, cols] = [0, 1, 2, 3];
    const [m, s, x, big, inv] = [c.local('v128'), c.local('v128'), c.local('v128'), c.local('v128'), c.local('v128')];
    const j = c.local('i32');
    const bigM = c.local('f32');
    forEachRow(c, rows, cols, (row) => {
      c.f32x4(Number.NEGATIVE_INFINITY).set(m);
      c.f32x4(0).set(s);
      c.forRange(
        j,
        () => c.get(row.start),
        () => c.get(row.vecEnd),
        16,
        () => {
          c.get(src).get(j).op('i32.add').mem('v128.load').set(x);
          emitOnlineUpdate(c, x, m, s);
        },
      );
      c.forRange(
        j,
        () => c.get(row.vecEnd),
        () => c.get(row.end),
        4,
        () => {
          c.f32x4(Number.NEGATIVE_INFINITY).get(src).get(j).op('i32.add').mem('f32.load').lane('f32x4.replace_lane', 0).set(x);
          emitOnlineUpdate(c, x, m, s);
        },
      );
      // M = max of the lanes' maxima; S = Σ s_l · exp(m_l - M); a +Inf max makes the row NaN (Inf - Inf).
      emitHorizontal(c, m, 'max');
      c.tee(bigM).op('f32x4.splat').set(big);
      c.get(m).get(big).op('f32x4.sub');
      emitExp(c);
      c.get(s).op('f32x4.mul').set(s);
      c.f32(1);
      emitHorizontal(c, s, 'sum');
      c.op('f32.div').f32(Number.NaN).get(bigM).f32(Number.POSITIVE_INFINITY).op('f32.ne').op('select');
      c.op('f32x4.splat').set(inv);
      const writeExp = (load: 'v128.load' | 'f32.load') => {
        c.get(src).get(j).op('i32.add').mem(load);
        if (load === 'f32.load') c.op('f32x4.splat');
        c.get(big).op('f32x4.sub');
        emitExp(c);
        c.get(inv).op('f32x4.mul');
      };
      c.forRange(
        j,
        () => c.get(row.start),
        () => c.get(row.vecEnd),
        16,
        () => {
          c.get(out).get(j).op('i32.add');
          writeExp('v128.load');
          c.mem('v128.store');
        },
      );
      c.forRange(
        j,
        () => c.get(row.vecEnd),
        () => c.get(row.end),
        4,
        () => {
          c.get(out).get(j).op('i32.add');
          writeExp('f32.load');
          c.lane('f32x4.extract_lane', 0).mem('f32.store');
        },
      );
    });
    return mod.toBytes();
  });
}
