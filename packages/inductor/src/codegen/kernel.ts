/**
 * Kernels as the scheduler leaves them and the renderers spell them: an
 * iteration space, the buffers read (`inputs`, by slot) and written
 * (`outputs`), and bodies as loop-IR expressions over named index
 * variables. Nothing here is WGSL- or JS-specific.
 *
 * Index variables: pointwise kernels iterate a linear index `i` over
 * `shape`; row kernels iterate rows `o` over `outer` and positions `j` over
 * `inner`; matmul epilogues see `bt` (batch), `m` and `n`.
 */
import type { DType, OpName, ReduceOp, Scalar } from '@kiln/eager';
import type { Expr, Index, Size } from '../ir/expr';

export interface KernelBuffer {
  dtype: DType;
}

interface KernelBase {
  /** Readable name: fused_<ops>_<n>. */
  name: string;
  /** The graph ops this kernel computes, for reports. */
  fusedOps: string[];
  inputs: KernelBuffer[];
  outputs: KernelBuffer[];
  /** Random nodes whose numbers the kernel draws, in order: their seeds and offsets are metadata params. */
  randomSources: number[];
}

/** out_k[i] = expr_k for every i in shape (outputs are contiguous in `shape`). */
export interface PointwiseKernel extends KernelBase {
  kind: 'pointwise';
  shape: Size[];
  stores: { output: number; expr: Expr }[];
}

export interface RowReduction {
  /** Its position in the kernel's reductions: what `acc` expressions name it by. */
  id: number;
  op: ReduceOp;
  /** The element reduced at row `o`, position `j`. */
  body: Expr;
  /** dtype the accumulator computes in. */
  dtype: DType;
  /** dtype of the result (min over bool computes in int32 and gives bool). */
  out: DType;
  /** Values written during this pass for the element stores to read back (see reuseRowValues). */
  sideStores: { output: number; index: Index; expr: Expr }[];
  /**
   * A float32 sum of exp(b - m), where m is the max reduction just before
   * it and b that max's body: a target may fold it into the max's pass
   * (online softmax; see onlineSoftmax in ../schedule), or run it as its own
   * pass. It has no side stores.
   */
  online?: boolean;
}

/**
 * Per row `o` of `outer`: reductions over `j` in `inner` in order (a later
 * one may use an earlier one's `acc`), then stores: per row, or per element
 * of the row (the epilogue: softmax's normalized write, layerNorm's output).
 */
export interface RowKernel extends KernelBase {
  kind: 'rows';
  outer: Size[];
  inner: Size[];
  reductions: RowReduction[];
  rowStores: { output: number; expr: Expr }[];
  elementStores: { output: number; index: Index; expr: Expr }[];
}

/** An operand of a matmul template: a kernel input read through a strided view. */
export interface MatmulOperand {
  input: number;
  offset: Index;
  /** Strides of [...batch, rows, cols], in elements (0 for broadcast batch dims; dynamic sizes allowed). */
  strides: Index[];
}

/**
 * out[bt, m, n] = epilogue(sum_k a[bt, m, k] * b[bt, k, n]): the epilogue
 * is an expression in `acc` id 0 (the product) and `bt`, `m`, `n`.
 */
export interface MatmulKernel extends KernelBase {
  kind: 'matmul';
  batch: Size[];
  M: Size;
  N: Size;
  K: Size;
  a: MatmulOperand;
  b: MatmulOperand;
  epilogue: Expr;
  /** Input slots the epilogue loads (bound after a, b and the output; may include a's or b's buffer again). */
  epilogueInputs: number[];
  output: number;
}

/** An op run by its eager kernel: args are input slots (numbers) or JS scalars (`{ scalar }`). */
export interface ExternKernel extends KernelBase {
  kind: 'extern';
  op: OpName;
  args: (number | { scalar: Scalar })[];
  attrs: unknown;
  reason: string;
}

/** A kernel a target renders and runs (an extern runs as its eager op instead). */
export type GeneratedKernel = PointwiseKernel | RowKernel | MatmulKernel;

export type Kernel = GeneratedKernel | ExternKernel;

/** What a report shows for an op that runs as its eager kernel. */
export function externSource(k: ExternKernel): string {
  return `// extern: ${k.op} runs as its eager kernel (${k.reason})`;
}

/** Metadata words per random source: offset lo/hi, seed lo/hi. */
export const wordsPerParam = 4;

/** Metadata layout shared by both targets: [dynamic sizes..., random params...]. */
export function metadataWords(symCount: number, randomSources: number): number {
  return symCount + wordsPerParam * randomSources;
}
