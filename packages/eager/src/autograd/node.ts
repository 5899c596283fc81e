/**
 * The backward graph: one `GradNode` per recorded op, pointing at where
 * each input's gradient goes (`next`: the node that made the input, or the
 * leaf that accumulates it). A node keeps what its rule needs and no
 * tensor objects: the op and attributes, each input's meta (scalars by
 * value), the output's meta, and the tensors its rule saved, each with the
 * storage version it was saved at. That is also what a compiler needs to
 * build a backward graph ahead of time from the same rule table.
 *
 * Lifetimes: a node is referenced by the tensors it made (their `gradFn`)
 * and by the nodes whose edges point at it. When the last reference goes
 * (the tensors were disposed, by `dispose()` or a `tidy`), its saved
 * tensors are freed at once; `backward()` frees them after use unless
 * `retainGraph`. A graph dropped without either is freed by the garbage
 * collector like any tensor.
 */
import { KilnError } from '@kiln/gpu-runtime';
import type { Input } from '../dispatch';
import { keep } from '../memory';
import type { MovementAttrs, MovementOp } from '../ops/movement';
import type { AttrsOf, InputMeta, OpName, TensorMeta } from '../ops/table';
import { isMeta } from '../ops/table';
import { Tensor } from '../tensor';
import { shapeStr } from '../view';

/** Ops whose result can share its input's storage (a view): movement ops, and `to` the same device. */
export type ViewOp = MovementOp | 'to';

/** One step from a tensor to a view of it. */
export interface ViewStep {
  readonly op: ViewOp;
  readonly attrs: (MovementAttrs & { to: AttrsOf['to'] })[ViewOp];
  readonly input: readonly number[];
  readonly output: readonly number[];
}

/** Where a gradient goes: the node that made a tensor, or the leaf tensor that accumulates it in `.grad`. */
export type Edge = GradNode | LeafEdge;

/** A leaf tensor that requires grad, as the graph's edges see it (PyTorch's AccumulateGrad). */
export class LeafEdge {
  constructor(readonly tensor: Tensor) {}
}

interface Saved {
  handle: Tensor | null;
  readonly version: number;
}

/** What a rule may ask of its node (see ./rules). */
export interface VjpContext<N extends OpName = OpName> {
  readonly op: N;
  readonly attrs: AttrsOf[N];
  /** Each input's shape, dtype and device; scalars as given. */
  readonly inputs: readonly InputMeta[];
  readonly output: TensorMeta;
  /** Which inputs want a gradient. */
  readonly needs: readonly boolean[];
  /** In-place ops written through a view: the steps from the written tensor's base to the view; else null. */
  readonly view: readonly ViewStep[] | null;
  /** Input `i` as the op saw it (the rule must save it); scalars as given. */
  input(i: number): Input;
  /** The op's result as it made it (the rule must save 'output'). */
  result(): Tensor;
}

let nextSeq = 0;

export function metaOf(t: TensorMeta): TensorMeta {
  return { shape: [...t.shape], dtype: t.dtype, device: t.device };
}

const describeMeta = (m: TensorMeta) => `${m.dtype}${shapeStr(m.shape)}`;

export class GradNode<N extends OpName = OpName> implements VjpContext<N> {
  /** Creation order: every edge points at an earlier node, so decreasing `seq` is a topological order of the backward pass. */
  readonly seq = nextSeq++;
  /** Tensors whose `gradFn` this is, plus nodes whose edges point here. */
  refs = 0;
  /** Tensors that `retainGrad()` and whose `gradFn` this is: they get the gradient that reaches this node. */
  retained: Set<Tensor> | undefined;
  readonly needs: readonly boolean[];
  private readonly saved: (Saved | undefined)[];
  private savedOutput: Saved | undefined;
  /** Saved tensors were freed by a backward pass (not by the last reference going). */
  private usedUp = false;

  constructor(
    readonly op: N,
    readonly attrs: AttrsOf[N],
    readonly inputs: readonly InputMeta[],
    readonly output: TensorMeta,
    readonly next: readonly (Edge | null)[],
    save: { inputs: readonly Input[]; saves: readonly (number | 'output')[]; output?: Tensor } | null,
    readonly view: readonly ViewStep[] | null = null,
  ) {
    this.needs = next.map((e) => e !== null);
    for (const e of next) if (e instanceof GradNode) e.refs++;
    this.saved = [];
    for (const k of save?.saves ?? []) {
      if (k === 'output') this.savedOutput = saveTensor(save!.output!);
      else if (save!.inputs[k] instanceof Tensor) this.saved[k] = saveTensor(save!.inputs[k]);
    }
  }

  input(i: number): Input {
    const meta = this.inputs[i];
    if (meta === undefined || !isMeta(meta)) {
      if (meta === undefined)
        throw new KilnError(`internal: the rule asked for input ${i}, the op has ${this.inputs.length}`, { op: this.op });
      return meta;
    }
    return this.use(this.saved[i], `input ${i}`, meta);
  }

  result(): Tensor {
    return this.use(this.savedOutput, 'the result', this.output);
  }

  /** A saved tensor, checked: not freed, and not written in place since it was saved. */
  private use(s: Saved | undefined, what: string, meta: TensorMeta): Tensor {
    if (s === undefined) throw new KilnError(`internal: the rule reads ${what}, which it did not save`, { op: this.op });
    if (s.handle === null) {
      throw new KilnError(
        this.usedUp
          ? `trying to backward through the graph a second time: the tensors ${this.op} saved were freed by the first backward(); pass { retainGraph: true } to the first call to keep them`
          : `${what} of ${this.op} was disposed before backward()`,
        { op: 'backward' },
      );
    }
    if (s.handle.version !== s.version) {
      throw new KilnError(
        `one of the tensors needed for the gradient was modified by an in-place operation: ${what} of ${this.op}, ${describeMeta(meta)}, ` +
          `is at version ${s.handle.version}; expected version ${s.version} (as ${this.op} saved it). ` +
          'Write a clone() instead, or write before the op reads it',
        { op: 'backward' },
      );
    }
    return s.handle;
  }

  /** Frees the saved tensors (after a backward pass without retainGraph, or when nothing references the node). */
  freeSaved(usedUp: boolean): void {
    this.usedUp ||= usedUp;
    for (const s of [...this.saved, this.savedOutput]) {
      s?.handle?.dispose();
      if (s) s.handle = null;
    }
  }

  /**
   * Saved tensors that share `storage`, replaced by copies: an in-place op
   * computed as `dst.copy_(f(dst, ...))` must not invalidate what `f`
   * saved of `dst` (PyTorch saves the original of `self` the same way).
   */
  unshare(storage: Tensor['storage'], copy: (t: Tensor) => Tensor): void {
    this.saved.forEach((s, i) => {
      if (s?.handle?.storage !== storage) return;
      const c = keep(copy(s.handle));
      s.handle.dispose();
      this.saved[i] = { handle: c, version: c.version };
    });
  }

  /** `grad_fn` as PyTorch prints it: `<MulBackward>`. */
  toString(): string {
    return `<${this.op[0]!.toUpperCase()}${this.op.slice(1)}Backward>`;
  }
}

/** A handle of its own on `t`'s storage (outliving tidy and `t.dispose()`), with the version it has now. */
function saveTensor(t: Tensor): Saved {
  return { handle: keep(new Tensor(t.storage, t.layout)), version: t.version };
}

/** Drops one reference to `node`; a node nothing references frees its saved tensors and drops its own edges. */
export function releaseNode(node: GradNode): void {
  const stack = [node];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (--n.refs > 0) continue;
    n.freeSaved(false);
    for (const e of n.next) if (e instanceof GradNode) stack.push(e);
  }
}
