/**
 * The tensors a compiled function's JavaScript sees. A `LazyTensor` is a
 * symbolic tensor (shape, dtype, device; no memory) that remembers the op
 * that makes it; it becomes real when a graph containing it runs, or the
 * moment anything needs its data (a read, an eager op, an in-place write).
 * From then on it behaves exactly like the real tensor it holds, so a lazy
 * tensor that escapes the call (stored outside, returned, read later) stays
 * valid.
 *
 * Its layout is the one eager would give: a movement op whose result eager
 * makes as a view (transpose, slice, ...) gives a lazy view of its input,
 * which becomes a real view of the same memory — an in-place write through
 * it changes its base, as in eager. Every other op gives a contiguous tensor.
 */

import type { AttrsOf, Device, DType, OpName, Scalar, Storage, TensorRef, View } from '@kiln/eager';
import { KilnError, metaStorage, Tensor, views, withMode } from '@kiln/eager';

/**
 * A reference to a storage that only the tracer gives back (`release`):
 * a tidy scope that happens to be open when it is made cannot dispose it.
 * Garbage collection still frees it, like any tensor.
 */
export class Owned extends Tensor {
  override dispose(): void {
    // Tidy scopes call this; the tracer releases with `release()`.
  }
  release(): void {
    super.dispose();
  }
}

/** An Owned view of a tensor the JS handed to the graph: it stays alive while the call may still compute from it. */
export class Pin extends Owned {
  constructor(readonly source: Tensor) {
    super(source.storage, source.layout);
  }
}

export type LazyArg = Tensor | Scalar;

/** What makes lazy tensors real: the recorder of the call that made them. */
export interface Materializer {
  /** Makes every tensor in `ts` real (at least those that are still pending). */
  materialize(ts: readonly LazyTensor[]): void;
  /** A lazy tensor is being coerced to a primitive (`+t`, `t > 0`). */
  coerced(t: LazyTensor): void;
  /** Whether the owner will release `t`'s memory itself when its call ends (it may still need it). */
  deferRelease(t: LazyTensor): boolean;
}

let nextSeq = 0;

/** A sequence number after every one given so far. */
export function nextSequence(): number {
  return nextSeq++;
}

export class LazyTensor extends Tensor {
  /** Creation order across all calls: graphs list their nodes in this order (a tensor redefined by a write moves after it). */
  seq = nextSeq++;
  /** The op and operands that make this tensor; null once it is real. An in-place write into it redefines it (see `redefine`). */
  args: readonly LazyArg[] | null;
  op: OpName;
  attrs: AttrsOf[OpName];
  /** In-place writes into this pending tensor (its `version`, as eager counts them). */
  writes = 0;
  /** Eager would make this a view of `viewOf` (the movement op's input). */
  readonly viewOf: Tensor | null;
  /** The real tensor, once computed; it has this tensor's layout. */
  real: Tensor | null = null;
  /** Used by graph building: a visit stamp, and the node's position in the graph being planned. */
  mark = 0;
  slot = 0;
  /** The base key of a graph that computed this tensor without keeping it, and its slot there. */
  ranIn: string | null = null;
  ranSlot = 0;
  /** Recorded with grad mode on from an input that requires grad: eager would give it a gradFn (see ../training). */
  needsGrad = false;
  /** A backward() inside the call went through it (without retainGraph): a second backward through it is an error, as in eager. */
  consumed = false;

  constructor(
    readonly owner: Materializer,
    op: OpName,
    args: readonly LazyArg[],
    attrs: AttrsOf[OpName],
    meta: { dtype: DType; device: Device },
    layout: View,
    viewOf: Tensor | null,
  ) {
    super(metaStorage(meta.device, meta.dtype, 0), layout);
    this.op = op;
    this.args = args;
    this.attrs = attrs;
    this.viewOf = viewOf;
  }

  get pending(): boolean {
    return this.real === null;
  }

  /** A pending tensor requires grad as eager's would; once computed, its gradFn says. */
  override get requiresGrad(): boolean {
    return this.real === null ? this.needsGrad : super.requiresGrad;
  }
  override set requiresGrad(flag: boolean) {
    super.requiresGrad = flag;
  }

  /** The real tensor, computing it first if needed. */
  materialized(): Tensor {
    if (this.real === null) {
      if (super.isDisposed) throw new KilnError(`${this} was disposed`, { op: 'compile' });
      this.owner.materialize([this]);
      if (this.real === null) throw new KilnError(`internal: ${this} was not computed`, { op: 'compile' });
    }
    return this.real;
  }

  /** Takes `t` (which has this tensor's shape) as its value; the caller gives up `t`. */
  adopt(t: Tensor): void {
    this.real = sameLayout(t.layout, this.layout) ? new Owned(t.storage, this.layout) : contiguousCopyOf(t, this.layout);
    this.takeWrites(this.real.storage);
    this.args = null;
  }

  /** `storage` now holds this tensor's value: its version counts the writes into it (a view's: its base's), as eager's does. */
  takeWrites(storage: Storage): void {
    let root: Tensor = this;
    while (root instanceof LazyTensor && root.viewOf !== null) root = root.viewOf;
    if (root instanceof LazyTensor) storage.version = Math.max(storage.version, root.writes);
  }

  /**
   * A pending tensor this tensor was before an in-place write: the same op
   * and operands, in this tensor's place in the order. This tensor is then
   * `redefine`d as its value after the write.
   */
  snapshot(): LazyTensor {
    const old = new LazyTensor(this.owner, this.op, this.args!, this.attrs, this, this.layout, this.viewOf);
    old.seq = this.seq;
    old.needsGrad = this.needsGrad;
    return old;
  }

  /** After an in-place write: this tensor is now `op(args)`, computed after everything recorded so far. */
  redefine(op: OpName, args: readonly LazyArg[], attrs: AttrsOf[OpName]): void {
    this.op = op;
    this.args = args;
    this.attrs = attrs;
    this.seq = nextSeq++;
    this.writes++;
  }

  /**
   * Its value was written back into `storage` at this tensor's layout (an
   * in-place write): it now reads it there, as eager's result of an in-place
   * op is its target, and gives back the memory it was computed in (which
   * nothing else would free before the garbage collector).
   */
  settleInto(storage: Storage): void {
    const computed = this.real;
    if (!(computed instanceof Owned) || computed.storage === storage) return;
    this.real = new Owned(storage, this.layout);
    computed.release();
  }

  /** Becomes a view (this tensor's layout) of `base`'s memory. */
  adoptView(base: Storage): void {
    this.real = new Owned(base, this.layout);
    this.args = null;
  }

  override get storage(): Storage {
    return this.materialized().storage;
  }

  override get version(): number {
    if (this.real) return this.real.version;
    // A pending view shares its base's version, as in eager; a pending result counts the writes into it.
    return this.viewOf && !this.viewOf.isDisposed ? this.viewOf.version : this.writes;
  }

  override ref(op: string): TensorRef {
    return this.materialized().ref(op);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    const real = this.real;
    if (real instanceof Owned && !this.owner.deferRelease(this)) real.release();
  }

  /** Gives back the memory once the call that made it no longer needs it. */
  releaseReal(): void {
    if (this.real instanceof Owned) this.real.release();
  }

  override [Symbol.toPrimitive](hint: string): string {
    if (hint === 'string') return this.toString();
    this.owner.coerced(this);
    return super[Symbol.toPrimitive](hint);
  }
}

/** Layouts that address the same elements (strides of size-1 dims do not matter). */
export function sameLayout(a: View, b: View): boolean {
  if (a.offset !== b.offset || a.shape.length !== b.shape.length) return false;
  for (let d = 0; d < a.shape.length; d++) {
    if (a.shape[d] !== b.shape[d]) return false;
    if (a.shape[d]! > 1 && a.strides[d] !== b.strides[d]) return false;
  }
  return true;
}

function contiguousCopyOf(t: Tensor, layout: View): Tensor {
  if (!views.isContiguous(layout) || layout.offset !== 0) {
    throw new KilnError(
      `internal: a computed tensor must be contiguous from offset 0, got strides ${layout.strides}, offset ${layout.offset}`,
      { op: 'compile' },
    );
  }
  const copy = withMode(null, () => t.cast(t.dtype)); // always a new contiguous buffer
  const out = new Owned(copy.storage, layout);
  copy.dispose();
  return out;
}
