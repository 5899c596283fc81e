/**
 * Tensor: a strided view of a reference-counted storage on one device.
 * Every method is a call to the dispatcher; the methods of the elementwise
 * and reduction ops are installed from the op tables below, so adding an op
 * to a table adds its method.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { BackwardOptions } from './autograd/backward';
import { backward } from './autograd/backward';
import { noGrad } from './autograd/grad-mode';
import type { BackwardNode } from './autograd/node';
import { GradNode } from './autograd/node';
import {
  forgetView,
  getGrad,
  gradFnOf,
  isLeaf,
  releaseGradState,
  requiresGrad,
  retainGrad,
  retainsGrad,
  setGrad,
  setRequiresGrad,
} from './autograd/state';
import type { Device, Storage, TensorRef } from './backend';
import { DEVICES, getBackend } from './backend';
import { check, checkArg, checkOptions, INT, oneOf, POSITIVE_INT } from './checks';
import { checkInputs, dispatch, getMode } from './dispatch';
import type { DType, Scalar, TypedArray } from './dtype';
import { canCast, DTYPES } from './dtype';
import { formatValues, PRINTED_IN_FULL } from './format';
import { trackTensor, untrackTensor } from './memory';
import type { BinaryOp, UnaryOp } from './ops/elementwise';
import { BINARY, UNARY } from './ops/elementwise';
import type { ReduceOp } from './ops/reductions';
import { REDUCTIONS } from './ops/reductions';
import type { TensorMeta } from './ops/table';
import type { View } from './view';
import { normalizeDim, numelOf, shapeStr } from './view';

const DEVICE_OR_DTYPE = oneOf<Device | DType>([...DEVICES, ...DTYPES]);

/** Nested arrays as `toArray()` returns them: numbers, or booleans for bool tensors. */
export type NestedArray = number | boolean | NestedArray[];

/** `dim` of a reduction: one dim, several, or all when omitted. */
export type Dims = number | readonly number[] | null | undefined;

/**
 * `dim` as the attribute ops take: a list, or null for every dim. Anything
 * else passes through unchanged, for the op's attribute check to reject
 * with the value the user gave.
 */
export function dimList(dim: Dims): readonly number[] | null {
  if (dim === undefined || dim === null) return null;
  return Number.isInteger(dim) ? [dim as number] : (dim as readonly number[]);
}

/**
 * Shapes given as one array or as separate numbers (`reshape([2, 3])` or
 * `reshape(2, 3)`). Anything else passes through as given, for the op's
 * attribute check to reject.
 */
type ShapeArgs = [readonly number[]] | number[];
function shapeOf(args: ShapeArgs): readonly number[] {
  return args.length === 1 && typeof args[0] === 'object' ? args[0] : (args as number[]);
}

/** `gelu`'s options (the method and `F.gelu`). */
export function geluAttrs(options: unknown): { approximate: 'none' | 'tanh' } {
  const o = checkOptions('gelu', options, ['approximate']);
  return { approximate: (o.approximate ?? 'none') as 'none' | 'tanh' }; // the attribute check rejects other values
}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below declares the methods installed from the op tables.
export class Tensor implements TensorMeta {
  /** Where the elements live in the storage. */
  readonly layout: View;
  readonly dtype: DType;
  readonly device: Device;
  #storage: Storage | null;
  /** The values the last `data()` read, and the storage version they were read at (for printing without waiting). */
  #lastRead: { version: number; data: TypedArray } | undefined;

  /** Wraps a storage (taking a reference to it). Users create tensors with `tensor`, `zeros`, ... and ops. */
  constructor(storage: Storage, layout: View) {
    this.layout = layout;
    this.dtype = storage.dtype;
    this.device = storage.device;
    this.#storage = storage;
    trackTensor(this, storage);
  }

  get shape(): readonly number[] {
    return this.layout.shape;
  }
  get strides(): readonly number[] {
    return this.layout.strides;
  }
  get offset(): number {
    return this.layout.offset;
  }
  get ndim(): number {
    return this.layout.shape.length;
  }
  get numel(): number {
    return numelOf(this.layout.shape);
  }
  get isDisposed(): boolean {
    return this.#storage === null;
  }
  /** The storage, shared with every view of it; throws once disposed. */
  get storage(): Storage {
    return this.live('storage');
  }
  /** Bumped by in-place ops through this tensor or any view sharing its storage. */
  get version(): number {
    return this.live('version').version;
  }

  /** Storage and view, as kernels take them; `op` names the caller in the use-after-dispose error. */
  ref(op: string): TensorRef {
    const storage = this.live(op);
    if (storage.meta) {
      throw new KilnError(`${this.describe()} is symbolic (a traced value with no data); it cannot be computed on eagerly here`, { op });
    }
    return { storage, view: this.layout };
  }

  private live(op: string): Storage {
    if (this.#storage === null) throw new KilnError(`${this.describe()} was disposed`, { op });
    return this.#storage;
  }

  /**
   * Releases this tensor's reference to its storage (freed when no view uses
   * it), its reference to the backward graph that made it, and its `.grad`.
   * Idempotent.
   */
  dispose(): void {
    if (this.#storage === null) return;
    releaseGradState(this);
    untrackTensor(this, this.#storage);
    this.#storage = null;
  }

  // ------------------------------------------------------------- autograd

  /** Whether gradients flow to this tensor: a leaf marked so, or the result of ops on such tensors (grad mode on). */
  get requiresGrad(): boolean {
    return requiresGrad(this);
  }
  set requiresGrad(flag: boolean) {
    setRequiresGrad(this, flag, 'requiresGrad');
  }
  /** Marks this leaf as requiring grad (only float32 tensors can); returns this. PyTorch's `requires_grad_()`. */
  requiresGrad_(flag = true): this {
    setRequiresGrad(this, flag);
    return this;
  }
  /**
   * The gradient `backward()` accumulated here: for leaves that require
   * grad, and non-leaves that `retainGrad()`; else null. Assign null to
   * clear it (or a tensor of this shape, dtype and device).
   */
  get grad(): Tensor | null {
    return getGrad(this);
  }
  set grad(g: Tensor | null) {
    setGrad(this, g);
  }
  /** The backward node of the op that made this tensor (null for leaves): PyTorch's `grad_fn`. */
  get gradFn(): BackwardNode | null {
    return gradFnOf(this);
  }
  /** Not made by a recorded op: created by the user, or computed without grad. */
  get isLeaf(): boolean {
    return isLeaf(this);
  }
  /** Whether this non-leaf keeps its gradient in `.grad` (see `retainGrad`). */
  get retainsGrad(): boolean {
    return retainsGrad(this);
  }
  /** Makes this non-leaf keep the gradient backward() gives it in `.grad`; returns this. */
  retainGrad(): this {
    retainGrad(this);
    return this;
  }
  /**
   * The same data (storage, view and version shared: in-place writes show
   * through), with no history and not requiring grad.
   */
  detach(): Tensor {
    const out = noGrad(() => dispatch('view', [this], { shape: this.shape }));
    forgetView(out);
    return out;
  }
  /**
   * Computes the gradient of this tensor with respect to every leaf that
   * requires grad and adds it to their `.grad` (PyTorch's `backward`).
   * `gradient` (this shape) weights the output; it may be omitted for a
   * one-element tensor. The graph's saved tensors are freed afterwards
   * unless `{ retainGraph: true }`.
   */
  backward(gradient?: Tensor | null, options?: BackwardOptions): void {
    backward(this, gradient, options);
  }

  /** Shape, dtype and device (what errors name); never reads data. */
  describe(): string {
    return `Tensor(${this.dtype}${shapeStr(this.shape)}, ${this.device}${this.isDisposed ? ', disposed' : ''})`;
  }

  /**
   * The values as PyTorch prints them (`tensor([[1.0000, 2.0000]])`), where
   * they can be had without waiting: on cpu, or on webgpu when this tensor
   * was read back and not written since. Otherwise says how to print it
   * (`await t.print()`).
   */
  toString(): string {
    const values = this.valuesNow();
    if (values) return formatValues(values, this.shape, this.dtype, this.device);
    if (this.isDisposed || this.#storage?.meta) return this.describe();
    return `tensor(<on ${this.device}, not read back: await t.print()>, size=[${this.shape.join(', ')}], dtype=${this.dtype})`;
  }

  /** What console.log and Node's inspector show: the values, as toString. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** Reads the values (async on webgpu) and prints them as PyTorch does. */
  async print(): Promise<void> {
    console.log(await format(this));
  }

  /** The elements now, without waiting, when that is possible (see toString). */
  private valuesNow(): TypedArray | undefined {
    const storage = this.#storage;
    if (storage === null || storage.meta) return undefined;
    if (this.#lastRead && this.#lastRead.version === storage.version) return this.#lastRead.data;
    return getBackend(this.device).readSync?.({ storage, view: this.layout });
  }

  [Symbol.toPrimitive](hint: string): string {
    if (hint === 'string') return this.toString();
    throw new KilnError(`${this.describe()} cannot be read synchronously; use await t.item() or await t.data()`, { op: 'toPrimitive' });
  }

  /** The elements in row-major order, as a new typed array (Uint8Array of 0/1 for bool). */
  async data(): Promise<TypedArray> {
    getMode()?.read?.(this);
    const ref = this.ref('data');
    const version = ref.storage.version;
    const data = await getBackend(this.device).read(ref);
    // Kept for printing without waiting (small tensors only: what a print shows in full).
    if (data.length <= PRINTED_IN_FULL) this.#lastRead = { version, data: data.slice() };
    return data;
  }

  /** Nested arrays of numbers (booleans for bool); a 0-d tensor gives its value. */
  async toArray(): Promise<NestedArray> {
    const flat = await this.data();
    const value = (i: number): number | boolean => (this.dtype === 'bool' ? flat[i] !== 0 : flat[i]!);
    const build = (d: number, base: number): NestedArray => {
      if (d === this.ndim) return value(base);
      const stride = numelOf(this.shape.slice(d + 1));
      return Array.from({ length: this.shape[d]! }, (_, i) => build(d + 1, base + i * stride));
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor (bool as 0 or 1). A tensor of more elements throws at the call, not in the promise. */
  item(): Promise<number> {
    if (this.numel !== 1) {
      throw new KilnError(`expected a tensor with one element, got ${this.dtype}${shapeStr(this.shape)} (${this.numel} elements)`, {
        op: 'item',
      });
    }
    return this.data().then((d) => d[0]!);
  }

  where(cond: Tensor, other: Tensor | Scalar): Tensor {
    return dispatch('where', [cond, this, other], {});
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return dispatch('clamp', [this], { min: min ?? null, max: max ?? null });
  }
  cast(dtype: DType): Tensor {
    return dispatch('cast', [this], { dtype });
  }
  gelu(options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
    return dispatch('gelu', [this], geluAttrs(options));
  }
  softmax(dim: number): Tensor {
    return dispatch('softmax', [this], { dim });
  }
  logSoftmax(dim: number): Tensor {
    return dispatch('logSoftmax', [this], { dim });
  }
  matmul(other: Tensor): Tensor {
    return dispatch('matmul', [this, other], {});
  }

  /** Variance over `dim` with `correction` subtracted from the count (1: unbiased, like PyTorch). */
  var(dim?: Dims, keepdim = false, correction = 1): Tensor {
    return dispatch('var', [this], { dim: dimList(dim), keepdim, correction });
  }
  std(dim?: Dims, keepdim = false, correction = 1): Tensor {
    return dispatch('std', [this], { dim: dimList(dim), keepdim, correction });
  }

  /** A view when the strides allow it, else a copy; one size may be -1. */
  reshape(...shape: ShapeArgs): Tensor {
    return dispatch('reshape', [this], { shape: shapeOf(shape) });
  }
  /** Like reshape but never copies (throws when the strides do not allow a view). */
  view(...shape: ShapeArgs): Tensor {
    return dispatch('view', [this], { shape: shapeOf(shape) });
  }
  permute(...dims: ShapeArgs): Tensor {
    return dispatch('permute', [this], { dims: shapeOf(dims) });
  }
  transpose(dim0: number, dim1: number): Tensor {
    return dispatch('transpose', [this], { dim0, dim1 });
  }
  unsqueeze(dim: number): Tensor {
    return dispatch('unsqueeze', [this], { dim });
  }
  /** Drops size-1 dims (the given ones, or all). */
  squeeze(dim?: Dims): Tensor {
    return dispatch('squeeze', [this], { dim: dimList(dim) });
  }
  /** Broadcasts size-1 dims (stride 0, no copy); -1 keeps a size. */
  expand(...shape: ShapeArgs): Tensor {
    return dispatch('expand', [this], { shape: shapeOf(shape) });
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return dispatch('flatten', [this], { startDim, endDim });
  }
  /** Python's `start:end:step` along `dim` (end defaults to the size; step > 0). */
  slice(dim: number, start: number, end = Infinity, step = 1): Tensor {
    return dispatch('slice', [this], { dim, start, end, step });
  }
  /** This tensor's data in row-major order: a view when it already is, else a copy. */
  contiguous(): Tensor {
    return dispatch('contiguous', [this], {});
  }
  /** Pieces of `size` along `dim` (the last may be smaller), or pieces of the given sizes. */
  split(sizes: number | readonly number[], dim = 0): Tensor[] {
    return splitTensor(this, sizes, dim);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return dispatch('indexSelect', [this, index], { dim });
  }
  gather(dim: number, index: Tensor): Tensor {
    return dispatch('gather', [this, index], { dim });
  }

  /**
   * This tensor on a device (a view of the same storage when it is already
   * there), or as a dtype (`cast`): PyTorch's `.to('cpu')` and `.to(torch.int32)`.
   */
  to(target: Device | DType): Tensor {
    checkArg('to', 'the target', target, DEVICE_OR_DTYPE);
    return (DTYPES as readonly string[]).includes(target)
      ? this.cast(target as DType)
      : dispatch('to', [this], { device: target as Device });
  }

  /** The shape, or the size of dim `dim` (negative counts from the end): PyTorch's `size()`. */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): readonly number[] | number {
    if (dim === undefined) return this.shape;
    return this.shape[normalizeDim('size', checkArg('size', 'dim', dim, INT), this.ndim)]!;
  }

  /** `chunks` pieces of equal size along `dim` (the last may be smaller; fewer when the dim is short), as views. */
  chunk(chunks: number, dim = 0): Tensor[] {
    checkArg('chunk', 'chunks', chunks, POSITIVE_INT);
    const size = this.shape[normalizeDim('chunk', checkArg('chunk', 'dim', dim, INT), this.ndim)]!;
    return splitTensor(this, Math.max(1, Math.ceil(size / chunks)), dim);
  }

  /** A copy with memory of its own. */
  clone(): Tensor {
    return dispatch('clone', [this], {});
  }
  /** The lower triangle of the last two dims (elements with col - row <= diagonal); the rest is 0. */
  tril(diagonal = 0): Tensor {
    return dispatch('tril', [this], { diagonal });
  }
  /** The upper triangle of the last two dims (elements with col - row >= diagonal); the rest is 0. */
  triu(diagonal = 0): Tensor {
    return dispatch('triu', [this], { diagonal });
  }
  /** `value` where `mask` (bool, broadcast to this shape) is true, else this tensor's element. */
  maskedFill(mask: Tensor, value: Scalar): Tensor {
    return dispatch('maskedFill', [this, mask], { value });
  }

  /** Writes `src` (broadcast, converted to this dtype) into this tensor's elements. */
  copy_(src: Tensor): Tensor {
    return dispatch('copy_', [this, src], {});
  }
  fill_(value: Scalar): Tensor {
    return dispatch('fill_', [this], { value });
  }
  zero_(): Tensor {
    return this.fill_(0);
  }
  add_(other: Tensor | Scalar): Tensor {
    return this.inPlace('add_', other, () => this.add(other));
  }
  sub_(other: Tensor | Scalar): Tensor {
    return this.inPlace('sub_', other, () => this.sub(other));
  }
  mul_(other: Tensor | Scalar): Tensor {
    return this.inPlace('mul_', other, () => this.mul(other));
  }
  div_(other: Tensor | Scalar): Tensor {
    return this.inPlace('div_', other, () => this.div(other));
  }

  /** `self = f(self)` as compute-then-copy_, with PyTorch's check that the result fits this tensor. */
  private inPlace(op: string, other: Tensor | Scalar, f: () => Tensor): Tensor {
    checkInputs(op, [this, other], true);
    const result = f();
    try {
      if (shapeStr(result.shape) !== shapeStr(this.shape) || !canCast(result.dtype, this.dtype)) {
        throw new KilnError(`the result ${result.dtype}${shapeStr(result.shape)} cannot be written into ${this.describe()}`, { op });
      }
      // What `f` saved of this tensor for backward must outlive the write (PyTorch saves the original self).
      const fn = gradFnOf(result);
      if (fn instanceof GradNode) fn.unshare(this.storage, (t) => noGrad(() => t.clone()));
      return this.copy_(result);
    } finally {
      result.dispose();
    }
  }
}

type UnaryMethods = { [K in UnaryOp | 'silu']: () => Tensor };
type BinaryMethods = { [K in BinaryOp]: (other: Tensor | Scalar) => Tensor };
type ReduceMethods = { [K in ReduceOp | 'mean' | 'logsumexp']: (dim?: Dims, keepdim?: boolean) => Tensor };

// The methods below are installed from the op tables.
export interface Tensor extends UnaryMethods, BinaryMethods, ReduceMethods {}

function install<K extends string>(names: readonly K[], method: (op: K) => (this: Tensor, ...args: never[]) => Tensor): void {
  for (const op of names) Object.defineProperty(Tensor.prototype, op, { value: method(op), writable: true, configurable: true });
}

const keys = <K extends string>(table: Record<K, unknown>) => Object.keys(table) as K[];

install(
  [...keys(UNARY), 'silu' as const],
  (op) =>
    function (this: Tensor) {
      return dispatch(op, [this], {});
    },
);
install(
  keys(BINARY),
  (op) =>
    function (this: Tensor, other: Tensor | Scalar) {
      return dispatch(op, [this, other], {});
    },
);
install(
  [...keys(REDUCTIONS), 'mean' as const, 'logsumexp' as const],
  (op) =>
    function (this: Tensor, dim?: Dims, keepdim = false) {
      return dispatch(op, [this], { dim: dimList(dim), keepdim });
    },
);

const SPLIT_SIZES = check<number | readonly number[]>(
  'a positive integer or a list of non-negative integers',
  (v) => (Number.isInteger(v) && (v as number) > 0) || (Array.isArray(v) && v.every((s) => Number.isInteger(s) && s >= 0)),
);

/** `split` is slices: the graph sees one `slice` per piece. */
export function splitTensor(t: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  checkInputs('split', [t], false);
  checkArg('split', 'sizes', sizes, SPLIT_SIZES);
  checkArg('split', 'dim', dim, INT);
  const d = dim < 0 ? dim + t.ndim : dim;
  const total = t.shape[d];
  if (total === undefined) throw new KilnError(`dim ${dim} is out of range for a tensor of rank ${t.ndim}`, { op: 'split' });
  let pieces: number[];
  if (typeof sizes === 'number') {
    pieces = Array.from({ length: Math.max(1, Math.ceil(total / sizes)) }, (_, i) => Math.min(sizes, total - i * sizes));
  } else {
    pieces = [...sizes];
    if (pieces.reduce((a, b) => a + b, 0) !== total) {
      throw new KilnError(`sizes ${shapeStr(pieces)} do not add up to ${total}, the size of dim ${dim} of ${t.describe()}`, {
        op: 'split',
      });
    }
  }
  let start = 0;
  return pieces.map((n) => {
    const piece = t.slice(d, start, start + n);
    start += n;
    return piece;
  });
}

/** `t`'s values as PyTorch prints them, read back first (the way to print a webgpu tensor). */
export async function format(t: Tensor): Promise<string> {
  return formatValues(await t.data(), t.shape, t.dtype, t.device);
}
