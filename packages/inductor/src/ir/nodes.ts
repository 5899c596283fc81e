/**
 * The loop-level IR ("define-by-run", as in TorchInductor): every value of a
 * graph is a function from an index to an expression. Reading a value that
 * is not realized calls its function (inlining it); reading a realized one
 * loads from its buffer. Fusion is therefore composition: the scheduler only
 * decides which values are realized and which kernel computes each.
 */
import type { DType, OpName, ReduceOp, Scalar } from '@kiln/eager';
import type { Expr, Index, Size } from './expr';

/** How a kernel body reads another IR node at an index (inline, load, or accumulator). */
export type Reader = (node: IRNode, idx: readonly Index[]) => Expr;

interface NodeBase {
  readonly id: number;
  /** The graph ops this value computes (for kernel names and reports). */
  readonly ops: readonly string[];
  readonly shape: readonly Size[];
  readonly dtype: DType;
  /** IR nodes this one reads. */
  readonly deps: readonly IRNode[];
}

/** A graph input: a contiguous buffer (the compiled graph copies other layouts first). */
export interface InputNode extends NodeBase {
  readonly kind: 'input';
  /** Position among the graph's inputs. */
  readonly position: number;
}

/** An elementwise value, a view, a constant: `body(idx)` is the element at idx. */
export interface PointwiseNode extends NodeBase {
  readonly kind: 'pointwise';
  readonly body: (idx: readonly Index[], read: Reader) => Expr;
  /** Views only move indices; they are never worth a buffer of their own. */
  readonly isView: boolean;
  /** Random ops in the body, in graph order (each takes a stream offset at run time). */
  readonly randomOps: readonly RandomOp[];
}

export interface RandomOp {
  /** The IR node whose numbers these are (random Exprs name it). */
  readonly source: number;
  readonly dist: 'uniform' | 'normal';
  readonly numel: Size;
}

/**
 * A reduction over `dims` of a value of `inputShape`: its shape is the kept
 * dims; `body(outer, inner)` is the element at kept index `outer` and
 * reduced index `inner`.
 */
export interface ReductionNode extends NodeBase {
  readonly kind: 'reduction';
  readonly op: ReduceOp;
  readonly inputShape: readonly Size[];
  readonly dims: readonly number[];
  /** dtype the accumulator computes in. */
  readonly mathDtype: DType;
  readonly body: (outer: readonly Index[], inner: readonly Index[], read: Reader) => Expr;
}

/** a [...batch, M, K] @ b [...batch, K, N] with batch dims already broadcast. */
export interface MatmulNode extends NodeBase {
  readonly kind: 'matmul';
  readonly a: IRNode;
  readonly b: IRNode;
}

/**
 * An op the compiler does not lower (int32 matmul, slicing a dynamic dim,
 * ...): it runs as the eager kernel between the fused kernels, on buffers.
 */
export interface ExternNode extends NodeBase {
  readonly kind: 'extern';
  readonly op: OpName;
  /** The op's inputs in order: IR nodes (all realized) and JS scalars. */
  readonly args: readonly (IRNode | Scalar)[];
  readonly attrs: unknown;
  /** Why it is not lowered, for the report. */
  readonly reason: string;
}

export type IRNode = InputNode | PointwiseNode | ReductionNode | MatmulNode | ExternNode;
