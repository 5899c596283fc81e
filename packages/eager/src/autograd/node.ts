/**
 * The backward graph: one `GradNode` per recorded op, pointing at where
 * each input's gradient goes (`next`: the node that made the input, or the
 * leaf that accumulates it). A node keeps what its rule needs and no
 * tensor objects: the op and attributes, each input's meta (scalars by
 * value), the output's meta, and the tensors its rule saved, each with the
 * storage version it was saved at. That is also what a compiler needs to
 * build a backward graph ahead of time from the same rule table. Other
 * kinds of node (./function-node: a compiled graph's backward) share the
 * `BackwardNode` base the engine walks.
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
import type { VjpRule } from './rules';
import { VJP } from './rules';

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
export type Edge = BackwardNode | LeafEdge;

/** A leaf tensor that requires grad, as the graph's edges see it (PyTorch's AccumulateGrad). */
export class LeafEdge {
  constructor(readonly tensor: Tensor) {}
}

/**
 * A tensor a node keeps for backward: a handle of its own on the storage
 * (outliving tidy and the user's `dispose()`), with the version it had.
 */
export class SavedTensor {
  private handle: Tensor | null;
  private readonly version: number;

  constructor(t: Tensor) {
    this.handle = keep(new Tensor(t.storage, t.layout));
    this.version = t.version;
  }

  /** The tensor, checked: not freed, and not written in place since it was saved (`what` of `op` names it in errors). */
  read(what: string, op: string, usedUp: boolean): Tensor {
    const h = this.handle;
    if (h === null) {
      throw new KilnError(
        usedUp
          ? `trying to backward through the graph a second time: the tensors ${op} saved were freed by the first backward(); pass { retainGraph: true } to the first call to keep them`
          : `${what} of ${op} was disposed before backward()`,
        { op: 'backward' },
      );
    }
    if (h.version !== this.version) {
      throw new KilnError(
        `one of the tensors needed for the gradient was modified by an in-place operation: ${what} of ${op}, ${describeMeta(h)}, ` +
          `is at version ${h.version}; expected version ${this.version} (as ${op} saved it). ` +
          'Write a clone() instead, or write before the op reads it',
        { op: 'backward' },
      );
    }
    return h;
  }

  /** The storage it holds (null once freed). */
  get storage(): Tensor['storage'] | null {
    return this.handle?.storage ?? null;
  }

  free(): void {
    this.handle?.dispose();
    this.handle = null;
  }
}

let nextSeq = 0;

/**
 * What the engine (./backward) walks: a node with edges to where its
 * inputs' gradients go, turning the gradient of its output into theirs.
 */
export abstract class BackwardNode {
  /** Creation order: every edge points at an earlier node, so decreasing `seq` is a topological order of the backward pass. */
  readonly seq = nextSeq++;
  /** Tensors whose `gradFn` this is, plus nodes whose edges point here. */
  refs = 0;
  /** Tensors that `retainGrad()` and whose `gradFn` this is: they get the gradient that reaches this node. */
  retained: Set<Tensor> | undefined;
  readonly needs: readonly boolean[];
  /** Saved tensors were freed by a backward pass (not by the last reference going). */
  protected usedUp = false;

  constructor(
    /** Each input's shape, dtype and device; scalars as given. */
    readonly inputs: readonly InputMeta[],
    readonly next: readonly (Edge | null)[],
  ) {
    this.needs = next.map((e) => e !== null);
    for (const e of next) if (e instanceof BackwardNode) e.refs++;
  }

  /**
   * Whether the engine runs this node although no gradient reached it
   * directly: it gathers its gradients from other nodes (./function-node).
   */
  get gathers(): boolean {
    return false;
  }

  /** Each input's gradient (null where `needs` says none is wanted, or none exists) from `grad`, the output's; runs with grad mode off. */
  abstract apply(grad: Tensor | null, needs: readonly boolean[]): readonly (Tensor | null)[];

  /** Frees what the node saved (after a backward pass without retainGraph, or when nothing references the node). */
  abstract freeSaved(usedUp: boolean): void;
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

export function metaOf(t: TensorMeta): TensorMeta {
  return { shape: [...t.shape], dtype: t.dtype, device: t.device };
}

const describeMeta = (m: TensorMeta) => `${m.dtype}${shapeStr(m.shape)}`;

export class GradNode<N extends OpName = OpName> extends BackwardNode implements VjpContext<N> {
  private readonly saved: (SavedTensor | undefined)[];
  private savedOutput: SavedTensor | undefined;

  constructor(
    readonly op: N,
    readonly attrs: AttrsOf[N],
    inputs: readonly InputMeta[],
    readonly output: TensorMeta,
    next: readonly (Edge | null)[],
    save: { inputs: readonly Input[]; saves: readonly (number | 'output')[]; output?: Tensor } | null,
    readonly view: readonly ViewStep[] | null = null,
  ) {
    super(inputs, next);
    this.saved = [];
    for (const k of save?.saves ?? []) {
      if (k === 'output') this.savedOutput = new SavedTensor(save!.output!);
      else if (save!.inputs[k] instanceof Tensor) this.saved[k] = new SavedTensor(save!.inputs[k]);
    }
  }

  input(i: number): Input {
    const meta = this.inputs[i];
    if (meta === undefined || !isMeta(meta)) {
      if (meta === undefined)
        throw new KilnError(`internal: the rule asked for input ${i}, the op has ${this.inputs.length}`, { op: this.op });
      return meta;
    }
    return this.use(this.saved[i], `input ${i}`);
  }

  result(): Tensor {
    return this.use(this.savedOutput, 'the result');
  }

  private use(s: SavedTensor | undefined, what: string): Tensor {
    if (s === undefined) throw new KilnError(`internal: the rule reads ${what}, which it did not save`, { op: this.op });
    return s.read(what, this.op, this.usedUp);
  }

  /** The op's rule (./rules) on `grad`, with `needs` for which inputs want a gradient. */
  apply(grad: Tensor | null, needs: readonly boolean[]): readonly (Tensor | null)[] {
    const rule = VJP[this.op] as VjpRule<N> | string;
    if (typeof rule === 'string')
      throw new KilnError(`internal: a node was recorded for ${this.op}, which has no rule`, { op: 'backward' });
    const ctx: VjpContext<N> = {
      op: this.op,
      attrs: this.attrs,
      inputs: this.inputs,
      output: this.output,
      needs,
      view: this.view,
      input: (i) => this.input(i),
      result: () => this.result(),
    };
    return rule.vjp(grad!, ctx);
  }

  freeSaved(usedUp: boolean): void {
    this.usedUp ||= usedUp;
    for (const s of [...this.saved, this.savedOutput]) s?.free();
  }

  /**
   * Saved tensors that share `storage`, replaced by copies: an in-place op
   * computed as `dst.copy_(f(dst, ...))` must not invalidate what `f`
   * saved of `dst` (PyTorch saves the original of `self` the same way).
   */
  unshare(storage: Tensor['storage'], copy: (t: Tensor) => Tensor): void {
    this.saved.forEach((s, i) => {
      if (s === undefined || s.storage !== storage) return;
      const c = keep(copy(s.read(`input ${i}`, this.op, this.usedUp)));
      this.saved[i] = new SavedTensor(c);
      c.dispose();
      s.free();
    });
  }

  /** `grad_fn` as PyTorch prints it: `<MulBackward>`. */
  override toString(): string {
    return `<${this.op[0]!.toUpperCase()}${this.op.slice(1)}Backward>`;
  }
}

/** Drops one reference to `node`; a node nothing references frees its saved tensors and drops its own edges. */
export function releaseNode(node: BackwardNode): void {
  const stack = [node];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (--n.refs > 0) continue;
    n.freeSaved(false);
    for (const e of n.next) if (e instanceof BackwardNode) stack.push(e);
  }
}
