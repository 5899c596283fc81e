/**
 * Lowering: each primitive op of the graph becomes an IR node (./ir/nodes):
 * elementwise ops, constants, iota, random, gather and cat become pointwise
 * functions of the index; movement ops become index maps (a view costs no
 * kernel and no copy); reductions and matmul become their own node kinds.
 * Composite ops never arrive here: ./lower-graph runs their decompositions first.
 *
 * One table, total over the primitive ops: TypeScript lists a missing rule.
 */

import {
  type AttrsOf,
  type CompositeOp,
  castScalar,
  type DType,
  ELEMENTWISE,
  type ElementwiseOp,
  elementwiseTypes,
  MOVEMENT,
  type MovementOp,
  type OpName,
  REDUCTIONS,
  type ReduceOp,
  reduceDims,
  type Scalar,
  scalarDtype,
  type TensorMeta,
  views,
} from '@kiln/eager';
import { NotCompiled } from './errors';
import { add, constant, div, type Expr, type Index, int, linearize, min, mod, mul, type Size, size, unravel } from './ir/expr';
import type { IRNode, PointwiseNode, RandomOp, ReductionNode } from './ir/nodes';
import { factor, isStatic, MARKERS, numelOf } from './ir/size';

/** Ops the inductor lowers (composites are decomposed first; in-place and transfer ops stay eager). */
export type PrimitiveOp = Exclude<OpName, CompositeOp | 'copy_' | 'fill_' | 'to'>;

export type LowerInput = IRNode | Scalar;

/** An output's shape (dynamic sizes as symbols), dtype and device. */
export interface LowerMeta {
  readonly shape: readonly Size[];
  readonly dtype: DType;
  readonly device: TensorMeta['device'];
}

type Rule<N extends PrimitiveOp> = (ins: readonly LowerInput[], attrs: AttrsOf[N], meta: LowerMeta, ids: IdSource) => IRNode;

/** Fresh node ids, in creation (topological) order, the op name nodes report, and the dynamic sizes in play. */
export class IdSource {
  private next = 0;
  /** While a composite is decomposed, its nodes report the composite's name (kernels read `gelu`, not its pieces). */
  composite: string | undefined;

  /** `symCount` dynamic sizes are traced with marker sizes `markers` (./ir/size). */
  constructor(
    readonly symCount = 0,
    private readonly markers = MARKERS,
  ) {}

  /** A traced size (a number, possibly made of markers) as a Size. */
  size(n: number): Size {
    return factor(n, this.symCount, this.markers);
  }

  take(): number {
    return this.next++;
  }

  /** Ids taken so far (the next id). */
  get count(): number {
    return this.next;
  }

  label(op: string): string[] {
    return [this.composite ?? op];
  }
}

const isNode = (x: LowerInput): x is IRNode => typeof x === 'object';
const node = (ins: readonly LowerInput[], i: number): IRNode => ins[i] as IRNode;

function pointwise(
  ids: IdSource,
  op: string,
  meta: { readonly shape: readonly Size[]; readonly dtype: DType },
  deps: readonly IRNode[],
  body: PointwiseNode['body'],
  options: { isView?: boolean; randomOps?: RandomOp[] } = {},
): PointwiseNode {
  return {
    kind: 'pointwise',
    id: ids.take(),
    ops: ids.label(op),
    shape: meta.shape,
    dtype: meta.dtype,
    deps,
    body,
    isView: options.isView ?? false,
    randomOps: options.randomOps ?? [],
  };
}

/** The index of `src` (broadcast to `shape`, NumPy rules) that element `idx` of `shape` reads. */
export function broadcastIndex(idx: readonly Index[], shape: readonly Size[], src: readonly Size[]): Index[] {
  const lead = shape.length - src.length;
  return src.map((s, d) => (s === 1 && shape[d + lead] !== 1 ? int(0) : idx[d + lead]!));
}

function elementwise(op: ElementwiseOp): Rule<ElementwiseOp> {
  return (ins, attrs, meta, ids) => {
    const dtypes = ins.map((x) => (isNode(x) ? x.dtype : scalarDtype(x)));
    const types = elementwiseTypes(op, dtypes, 'dtype' in attrs ? (attrs as { dtype: DType }).dtype : undefined);
    const deps = ins.filter(isNode);
    return pointwise(ids, op, meta, deps, (idx, read) => {
      const args = ins.map((x, k): Expr => (isNode(x) ? read(x, broadcastIndex(idx, meta.shape, x.shape)) : scalar(x, dtypes[k]!, ids)));
      return { kind: 'call', op, args, types, dtype: types.out };
    });
  };
}

/**
 * A JS scalar operand. A decomposition may have computed it from a dynamic
 * size (mean divides by the element count): such a number is made of
 * markers, and becomes the size read at run time.
 */
function scalar(x: Scalar, dtype: DType, ids: IdSource): Expr {
  const s = typeof x === 'number' ? ids.size(x) : Number(x);
  return isStatic(s) ? constant(Number(x), dtype) : { kind: 'fromIndex', index: size(s), dtype };
}

function reduction(op: ReduceOp): Rule<ReduceOp> {
  return (ins, attrs, meta, ids) => {
    const x = node(ins, 0);
    const dims = reduceDims(
      op,
      x.shape.map(() => 0),
      attrs.dim,
    ); // only the rank matters
    const kept: Size[] = x.shape.filter((_, d) => !dims.includes(d));
    const spec = REDUCTIONS[op];
    const r: ReductionNode = {
      kind: 'reduction',
      id: ids.take(),
      ops: ids.label(op),
      shape: kept,
      dtype: spec.out(x.dtype),
      deps: [x],
      op,
      inputShape: x.shape,
      dims,
      mathDtype: spec.math(x.dtype),
      body: (outer, inner, read) => {
        const full: Index[] = [];
        let o = 0;
        let j = 0;
        x.shape.forEach((_, d) => full.push(dims.includes(d) ? inner[j++]! : outer[o++]!));
        return read(x, full);
      },
    };
    // keepdim is a view of the reduced value with the dims back as size 1.
    if (!attrs.keepdim) return r;
    return pointwise(
      ids,
      'unsqueeze',
      meta,
      [r],
      (idx, read) =>
        read(
          r,
          idx.filter((_, d) => !dims.includes(d)),
        ),
      { isView: true },
    );
  };
}

/**
 * A movement op as an index map. Reshape-like ops go through the linear
 * index (the simplifier cancels the contiguous cases); the others map each
 * dim directly, using eager's movement rule on a contiguous view to read
 * off where each output dim comes from.
 */
function movement(op: MovementOp): Rule<MovementOp> {
  return (ins, attrs, meta, ids) => {
    const x = node(ins, 0);
    const map = indexMap(op, attrs, x.shape, meta.shape);
    return pointwise(ids, op, meta, [x], (idx, read) => read(x, map(idx)), { isView: true });
  };
}

function indexMap(
  op: MovementOp,
  attrs: AttrsOf[MovementOp],
  inShape: readonly Size[],
  outShape: readonly Size[],
): (idx: readonly Index[]) => Index[] {
  const rank = inShape.length;
  switch (op) {
    case 'permute': {
      const dims = (attrs as AttrsOf['permute']).dims.map((d) => views.normalizeDim(op, d, rank));
      return (idx) => {
        const out: Index[] = new Array(rank);
        dims.forEach((d, k) => (out[d] = idx[k]!));
        return out;
      };
    }
    case 'transpose': {
      const a = attrs as AttrsOf['transpose'];
      const [d0, d1] = [views.normalizeDim(op, a.dim0, rank), views.normalizeDim(op, a.dim1, rank)];
      return (idx) => idx.map((i, k) => (k === d0 ? idx[d1]! : k === d1 ? idx[d0]! : i));
    }
    case 'unsqueeze': {
      const d = views.normalizeDim(op, (attrs as AttrsOf['unsqueeze']).dim, rank + 1);
      return (idx) => idx.filter((_, k) => k !== d);
    }
    case 'squeeze': {
      const listed = (attrs as AttrsOf['squeeze']).dim;
      const dims = listed === null ? null : listed.map((d) => views.normalizeDim(op, d, rank));
      const removed = inShape.map((s, k) => s === 1 && (dims === null || dims.includes(k)));
      return (idx) => {
        let j = 0;
        return inShape.map((_, k) => (removed[k] ? int(0) : idx[j++]!));
      };
    }
    case 'expand':
      return (idx) => broadcastIndex(idx, outShape, inShape);
    case 'slice': {
      const a = attrs as AttrsOf['slice'];
      const d = views.normalizeDim(op, a.dim, rank);
      const length = inShape[d]!;
      if (!isStatic(length)) throw new NotCompiled(`slicing dynamic dim ${d} is not compiled; mark it static`);
      const v = views.slice(op, views.contiguousView([length]), 0, a.start, a.end, a.step);
      const start = v.offset;
      return (idx) => idx.map((i, k) => (k === d ? add(int(start), mul(i, int(a.step))) : i));
    }
    case 'asStrided': {
      const a = attrs as AttrsOf['asStrided'];
      return (idx) => [idx.reduce((at, i, d) => add(at, mul(i, int(a.strides[d]!))), int(a.offset))];
    }
    default:
      // reshape, view, flatten, contiguous: through the linear index (the simplifier cancels the contiguous cases).
      return (idx) => unravel(linearize(idx, outShape), inShape);
  }
}

function matmulRule(ins: readonly LowerInput[], _attrs: unknown, meta: LowerMeta, ids: IdSource): IRNode {
  let [a, b] = [node(ins, 0), node(ins, 1)];
  // PyTorch's 1-D cases: a vector is a [1, K] row or a [K, 1] column, squeezed after.
  const view = (x: IRNode, shape: readonly Size[], map: (idx: readonly Index[]) => Index[]): IRNode =>
    pointwise(ids, 'view', { shape, dtype: x.dtype }, [x], (idx, read) => read(x, map(idx)), { isView: true });
  const aVec = a.shape.length === 1;
  const bVec = b.shape.length === 1;
  if (aVec) a = view(a, [1, a.shape[0]!], (idx) => [idx[1]!]);
  if (bVec) b = view(b, [b.shape[0]!, 1], (idx) => [idx[0]!]);
  const batch = broadcastSizes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const bcast = (x: IRNode, rows: Size, cols: Size): IRNode => {
    const shape = [...batch, rows, cols];
    if (shape.length === x.shape.length && shape.every((s, d) => s === x.shape[d])) return x;
    return view(x, shape, (idx) => broadcastIndex(idx, shape, x.shape));
  };
  const [M, K] = [a.shape.at(-2)!, a.shape.at(-1)!];
  const N = b.shape.at(-1)!;
  a = bcast(a, M, K);
  b = bcast(b, K, N);
  const mm: IRNode = {
    kind: 'matmul',
    id: ids.take(),
    ops: ids.label('matmul'),
    shape: [...batch, M, N],
    dtype: a.dtype,
    deps: [a, b],
    a,
    b,
  };
  if (!aVec && !bVec) return mm;
  return pointwise(
    ids,
    'squeeze',
    meta,
    [mm],
    (idx, read) => {
      const full = [...idx];
      if (bVec) full.push(int(0));
      if (aVec) full.splice(full.length - (bVec ? 1 : 0) - 1, 0, int(0));
      return read(mm, full);
    },
    { isView: true },
  );
}

/** cat: position along `dim` picks the input, as nested selects; producers inline into the one kernel. */
/** NumPy broadcasting of two shapes of (possibly symbolic) sizes; the shapes were checked by eager already. */
function broadcastSizes(a: readonly Size[], b: readonly Size[]): Size[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, d) => {
    const x = a[d - rank + a.length] ?? 1;
    const y = b[d - rank + b.length] ?? 1;
    return x === 1 ? y : x;
  });
}

function catRule(ins: readonly LowerInput[], attrs: AttrsOf['cat'], meta: LowerMeta, ids: IdSource): IRNode {
  const parts = ins as IRNode[];
  const d = views.normalizeDim('cat', attrs.dim, meta.shape.length);
  const total = meta.shape[d]!;
  if (!isStatic(total) || parts.some((p) => !isStatic(p.shape[d]!))) {
    throw new NotCompiled(`cat along dynamic dim ${d} is not compiled; mark it static`);
  }
  return pointwise(ids, 'cat', meta, parts, (idx, read) => {
    let start = 0;
    const pieces = parts.map((p) => {
      const at = start;
      const length = p.shape[d]! as number;
      start += length;
      // Every piece is read at every position and the select keeps one: outside its own range a piece reads
      // its nearest edge (i - at clamped into [0, length)), never outside it, so its index checks hold there too.
      const local = at === 0 ? idx[d]! : mod(add(idx[d]!, int(total - at)), int(total));
      const shifted = idx.map((i, k) => (k === d ? min(local, int(Math.max(length - 1, 0))) : i));
      return { end: start, value: castTo(read(p, shifted), meta.dtype) };
    });
    let value = pieces.at(-1)!.value;
    for (let k = pieces.length - 2; k >= 0; k--) {
      const cond: Expr = { kind: 'less', a: idx[d]!, b: int(pieces[k]!.end), dtype: 'bool' };
      value = select(cond, pieces[k]!.value, value);
    }
    return value;
  });
}

function castTo(e: Expr, dtype: DType): Expr {
  if (e.dtype === dtype) return e;
  return { kind: 'call', op: 'cast', args: [e], types: elementwiseTypes('cast', [e.dtype], dtype), dtype };
}

function select(cond: Expr, a: Expr, b: Expr): Expr {
  return { kind: 'call', op: 'where', args: [cond, a, b], types: elementwiseTypes('where', ['bool', a.dtype, b.dtype]), dtype: a.dtype };
}

function gatherRule(ins: readonly LowerInput[], attrs: AttrsOf['gather'], meta: LowerMeta, ids: IdSource): IRNode {
  const [x, index] = [node(ins, 0), node(ins, 1)];
  const d = views.normalizeDim('gather', attrs.dim, x.shape.length);
  const check = { op: ids.composite ?? 'gather', dim: d };
  const bound = size(x.shape[d]!);
  return pointwise(ids, 'gather', meta, [x, index], (idx, read) => {
    const value = read(index, idx);
    const then = read(
      x,
      idx.map((i, k) => (k === d ? { kind: 'value', value, bound } : i)),
    );
    return { kind: 'check', value, bound, check, then, dtype: then.dtype };
  });
}

/**
 * The functional form of an in-place write: each element p of the base
 * (a storage's elements) is src's element at the view index that lands on
 * p, or the base's own element when none does. The view index is found by
 * dividing p - offset by the strides, largest first (views made by movement
 * ops never overlap, so at most one index lands on p); it is clamped into
 * src's shape so that no read leaves it.
 */
function scatterViewRule(ins: readonly LowerInput[], attrs: AttrsOf['scatterView'], meta: LowerMeta, ids: IdSource): IRNode {
  const [base, src] = [node(ins, 0), node(ins, 1)];
  const { shape, strides, offset } = attrs;
  if (shape.some((s, d) => s > 1 && strides[d] === 0)) throw new NotCompiled('a write through a broadcast view is not compiled');
  const order = shape
    .map((_, d) => d)
    .filter((d) => shape[d]! > 1)
    .sort((x, y) => strides[y]! - strides[x]!);
  return pointwise(ids, 'scatterView', meta, [base, src], (idx, read) => {
    const p = idx[0]!;
    let rest: Index = add(p, int(-offset));
    const at: Index[] = shape.map(() => int(0));
    let inside: Expr = call('logicalNot', [{ kind: 'less', a: p, b: int(offset), dtype: 'bool' }], 'bool');
    for (const d of order) {
      const v = div(rest, int(strides[d]!));
      rest = mod(rest, int(strides[d]!));
      inside = call('logicalAnd', [inside, { kind: 'less', a: v, b: int(shape[d]!), dtype: 'bool' }], 'bool');
      at[d] = min(v, int(shape[d]! - 1));
    }
    inside = call('logicalAnd', [inside, { kind: 'less', a: rest, b: int(1), dtype: 'bool' }], 'bool');
    if (shape.some((s) => s === 0)) inside = constant(0, 'bool');
    return select(inside, read(src, at), read(base, [p]));
  });
}

function call(op: ElementwiseOp, args: Expr[], dtype: DType): Expr {
  const types = elementwiseTypes(
    op,
    args.map((a) => a.dtype),
  );
  return { kind: 'call', op, args, types, dtype };
}

/** One rule per key of `table`, typed per key (the tables are what say which ops exist). */
function rulesFor<K extends PrimitiveOp>(table: Record<K, unknown>, rule: (op: K) => Rule<K>): { [N in K]: Rule<N> } {
  // Each rule takes its own op: Rule<K> for every K is Rule<N> for that N.
  return Object.fromEntries(Object.keys(table).map((op) => [op, rule(op as K)])) as unknown as { [N in K]: Rule<N> };
}

/**
 * Every primitive op's lowering, total over PrimitiveOp: an op added to the
 * op table without a rule here is a type error, not a silent extern. The
 * elementwise, reduction and movement rows come from their tables, so such
 * an op needs no line here at all.
 */
export const LOWERINGS: { [N in PrimitiveOp]: Rule<N> } = {
  ...rulesFor(ELEMENTWISE, elementwise),
  ...rulesFor(REDUCTIONS, reduction),
  ...rulesFor(MOVEMENT, movement),
  scatterView: scatterViewRule,
  matmul: matmulRule,
  cat: catRule,
  gather: gatherRule,
  // The value converted as a kernel converts it (Infinity into int32 saturates).
  full: (_ins, attrs, meta, ids) =>
    pointwise(ids, 'full', meta, [], () => constant(castScalar(Number(attrs.value), scalarDtype(attrs.value), meta.dtype), meta.dtype)),
  arange: (_ins, attrs, meta, ids) =>
    pointwise(ids, 'arange', meta, [], (idx) => {
      const dt = meta.dtype;
      const i: Expr = { kind: 'fromIndex', index: idx[0]!, dtype: dt };
      return call('add', [call('mul', [i, constant(attrs.step, dt)], dt), constant(attrs.start, dt)], dt);
    }),
  rand: (_ins, _attrs, meta, ids) => randomRule('uniform', meta, ids),
  randn: (_ins, _attrs, meta, ids) => randomRule('normal', meta, ids),
};

/** Random values: the Expr names its node; each call draws a stream offset per random node (in graph order). */
function randomRule(dist: 'uniform' | 'normal', meta: LowerMeta, ids: IdSource): IRNode {
  const numel = numelOf(meta.shape);
  const id = ids.take();
  return {
    kind: 'pointwise',
    id,
    ops: ids.label(dist === 'uniform' ? 'rand' : 'randn'),
    shape: meta.shape,
    dtype: 'float32',
    deps: [],
    isView: false,
    randomOps: [{ source: id, dist, numel }],
    body: (idx) => ({ kind: 'random', dist, source: id, index: linearize(idx, meta.shape), dtype: 'float32' }),
  };
}

/** Lowers one call; an op the compiler cannot lower becomes an extern (its eager kernel, run between fused kernels). */
export function lower(op: OpName, inputs: readonly LowerInput[], attrs: unknown, meta: TensorMeta, ids: IdSource): IRNode {
  const lowered = { shape: meta.shape.map((n) => ids.size(n)), dtype: meta.dtype, device: meta.device };
  const reason = notLowered(op, inputs);
  if (!reason) {
    try {
      const rule = LOWERINGS[op as PrimitiveOp] as Rule<PrimitiveOp>;
      return rule(inputs, attrs as AttrsOf[PrimitiveOp], lowered, ids);
    } catch (error) {
      if (!(error instanceof NotCompiled)) throw error;
      return extern(op, inputs, attrs, lowered, ids, error.reason);
    }
  }
  return extern(op, inputs, attrs, lowered, ids, reason);
}

/** Why `op` stays eager here, or undefined when it lowers. */
function notLowered(op: OpName, inputs: readonly LowerInput[]): string | undefined {
  if (!(op in LOWERINGS)) return `'${op}' has no lowering`;
  if (op === 'matmul' && inputs.some((x) => isNode(x) && x.dtype !== 'float32')) return 'the matmul template is float32 only';
  return undefined;
}

function extern(op: OpName, inputs: readonly LowerInput[], attrs: unknown, meta: LowerMeta, ids: IdSource, reason: string): IRNode {
  return {
    kind: 'extern',
    id: ids.take(),
    ops: [op],
    shape: meta.shape,
    dtype: meta.dtype,
    deps: inputs.filter(isNode),
    op,
    args: inputs,
    attrs,
    reason,
  };
}
