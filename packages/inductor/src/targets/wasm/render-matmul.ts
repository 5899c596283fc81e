/**
 * A matmul kernel of the IR on the wasm matmul (./matmul-kernel: 6x8
 * register-blocked f32x4 over packed B panels): per batch, an operand whose
 * inner stride is not 1 is first copied dense (./strided-copy), B is packed,
 * and `gemm` accumulates into the zeroed output; then the epilogue, when
 * there is one, runs as a pointwise pass over the output (./render-pointwise),
 * the product read back where the IR has `acc` and `bt`, `m`, `n` unravelled
 * from the linear index. The epilogue in gemm's registers (its `activation`
 * and `bias`) would save that pass; mapping the IR's epilogues onto it is
 * the next step.
 */
import type { MatmulKernel, MatmulOperand, PointwiseKernel } from '../../codegen/kernel';
import { add, div, type Expr, type Index, indexValue, ivar, min, mod, mul, size } from '../../ir/expr';
import { numelOf, sizeValue } from '../../ir/size';
import { DEFAULT_MATMUL, matmulModule } from './matmul-kernel';
import { NoWasmForm } from './no-wasm-form';
import { accessSummary, renderPointwise } from './render-pointwise';
import type { RenderedWasm } from './rendered-wasm';
import { stridedCopyModule } from './strided-copy';

const BINARY_INDEX = { add, mul, div, mod, min } as const;

/** The epilogue as a pointwise kernel over the output's linear index `i`. */
function epilogueKernel(k: MatmulKernel): PointwiseKernel {
  const i = ivar('i');
  const [M, N] = [size(k.M), size(k.N)];
  const vars: Record<string, Index> = { bt: div(i, mul(M, N)), m: mod(div(i, N), M), n: mod(i, N) };
  const reindex = (ix: Index): Index => {
    switch (ix.kind) {
      case 'var':
        return vars[ix.name] ?? ix;
      case 'int':
      case 'sym':
        return ix;
      case 'value':
        throw new NoWasmForm('a data-dependent index in a matmul epilogue');
      default:
        return BINARY_INDEX[ix.kind](reindex(ix.a), reindex(ix.b));
    }
  };
  const atI = (e: Expr): Expr => {
    switch (e.kind) {
      case 'acc':
        return { kind: 'reload', output: k.output, index: i, dtype: 'float32' };
      case 'const':
        return e;
      case 'load':
      case 'reload':
        return { ...e, index: reindex(e.index) };
      case 'call':
        return { ...e, args: e.args.map(atI) };
      default:
        throw new NoWasmForm(`${e.kind} expressions in a matmul epilogue`);
    }
  };
  const { name, fusedOps, inputs, outputs, randomSources } = k;
  return {
    kind: 'pointwise',
    name,
    fusedOps,
    inputs,
    outputs,
    randomSources,
    shape: [...k.batch, k.M, k.N],
    stores: [{ output: k.output, expr: atI(k.epilogue) }],
  };
}

/**
 * Eager's matmul (and the JS target's) sums in doubles and rounds once; gemm
 * sums in float32, which overflows to ±Inf (or Inf - Inf = NaN) where the
 * double sum stays finite. Such elements are rare, and summed again here
 * in doubles from the operands, so their results are eager's.
 */
function recomputeNonFinite(
  c: Float32Array,
  N: number,
  K: number,
  a: (m: number, k: number) => number,
  b: (k: number, n: number) => number,
): void {
  for (let e = 0; e < c.length; e++) {
    if (Number.isFinite(c[e]!)) continue;
    const [m, n] = [Math.floor(e / N), e % N];
    let sum = 0;
    for (let kk = 0; kk < K; kk++) sum += a(m, kk) * b(kk, n);
    c[e] = sum;
  }
}

export function renderMatmul(k: MatmulKernel, symCount: number): RenderedWasm {
  const operands = [k.inputs[k.a.input], k.inputs[k.b.input], k.outputs[k.output]];
  if (operands.some((b) => b?.dtype !== 'float32') || k.outputs.length !== 1) throw new NoWasmForm('a matmul that is not float32');
  const plain = k.epilogue.kind === 'acc';
  const epilogue = plain ? undefined : renderPointwise(epilogueKernel(k), symCount);
  const cfg = DEFAULT_MATMUL;
  const outs = k.outputs.length;
  const rank = k.a.strides.length;
  return {
    summary: `${cfg.mr}x${cfg.nr} f32x4 gemm over packed B${epilogue ? `, epilogue pass: ${accessSummary([k.epilogue], 'n')}` : ''}`,
    build(key, arena) {
      const gemm = arena.kernel(matmulModule(cfg), 'gemm');
      const packB = arena.kernel(matmulModule(cfg), 'packB');
      const copy = arena.kernel(stridedCopyModule(), 'copy');
      const runEpilogue = epilogue?.build(`${key}:epilogue`, arena);
      return (pointers, syms) => {
        const [M, N, K] = [k.M, k.N, k.K].map((s) => sizeValue(s, syms)) as [number, number, number];
        const batches = sizeValue(numelOf(k.batch), syms);
        if (M * N * batches === 0) return;
        const at = (ix: Index) => indexValue(ix, syms);
        /** Element offset of batch `bt` of an operand. */
        const base = (op: MatmulOperand, bt: number) =>
          k.batch.reduce<number>(
            (sum, s, d) =>
              sum + (Math.floor(bt / sizeValue(numelOf(k.batch.slice(d + 1)), syms)) % sizeValue(s, syms)) * at(op.strides[d]!),
            at(op.offset),
          );
        const [sam, sak, sbk, sbn] = [
          at(k.a.strides[rank - 2]!),
          at(k.a.strides[rank - 1]!),
          at(k.b.strides[rank - 2]!),
          at(k.b.strides[rank - 1]!),
        ];
        const panels = Math.ceil(N / cfg.nr);
        // Scratch after the staged buffers (freed with them by the next launch's reset).
        const denseA = sak === 1 ? 0 : arena.alloc(M * K);
        const denseB = sbn === 1 ? 0 : arena.alloc(K * N);
        const packed = arena.alloc(panels * cfg.nr * K);
        const scratch = arena.alloc(cfg.mr * cfg.nr + cfg.mc * cfg.kc);
        const out = pointers[k.output]!;
        arena.f32(out, batches * M * N).fill(0);
        for (let bt = 0; bt < batches; bt++) {
          let a = pointers[outs + k.a.input]! + 4 * base(k.a, bt);
          let lda = sam;
          if (sak !== 1) {
            copy(denseA, a, M, K, sam, sak);
            [a, lda] = [denseA, K];
          }
          const b = pointers[outs + k.b.input]! + 4 * base(k.b, bt);
          if (sbn === 1) packB(packed, b, K, N, sbk);
          else {
            copy(denseB, b, K, N, sbk, sbn);
            packB(packed, denseB, K, N, N);
          }
          gemm(a, lda, packed, out + 4 * bt * M * N, N, M, N, K, 0, scratch);
          const memory = new Float32Array(arena.memory.buffer);
          const [ea, eb] = [pointers[outs + k.a.input]! / 4 + base(k.a, bt), pointers[outs + k.b.input]! / 4 + base(k.b, bt)];
          recomputeNonFinite(
            memory.subarray(out / 4 + bt * M * N, out / 4 + (bt + 1) * M * N),
            N,
            K,
            (m, kk) => memory[ea + m * sam + kk * sak]!,
            (kk, n) => memory[eb + kk * sbk + n * sbn]!,
          );
        }
        runEpilogue?.(pointers, syms);
      };
    },
  };
}
