/**
 * The dispatcher: every op call goes through `dispatch`, which checks the
 * inputs, infers the output's shape, dtype and device, and then either hands
 * the call to the installed mode (the tracer records a graph this way) or
 * runs it: a composite op runs its decomposition (through `dispatch` again,
 * on the same device), any other op runs its device's kernel. Eager ops on
 * tensors that require grad are recorded for backward (./autograd/record).
 */
import { DeviceMemoryError, KilnError } from '@kiln/gpu-runtime';
import './backend-cpu'; // cpu, the default device, is always registered
import { runRecorded } from './autograd/record';
import type { Operand, TensorRef } from './backend';
import { getBackend, isTensorRef } from './backend';
import { checkNumel, show } from './checks';
import type { Scalar } from './dtype';
import { scalarDtype } from './dtype';
import { allocStorage, tidy, uploadStorage } from './memory';
import type { Decomposition } from './ops/decompositions';
import { DECOMPOSITIONS, RETURNS_INPUT } from './ops/decompositions';
import type { ElementwiseOp } from './ops/elementwise';
import { ELEMENTWISE, elementwiseTypes } from './ops/elementwise';
import type { MovementOp, MovementRule } from './ops/movement';
import { MOVEMENT } from './ops/movement';
import type { ReduceOp } from './ops/reductions';
import { REDUCTIONS } from './ops/reductions';
import type { AttrsOf, CompositeOp, OpName, TensorMeta } from './ops/table';
import { inferMeta, OPS, reduceDims, reducedShape } from './ops/table';
import { takeRandom } from './random';
import { Tensor } from './tensor';
import { contiguousView, expand, numelOf, shapeStr, slice, unsqueeze } from './view';

/** What ops take: tensors, and JS scalars where an op accepts them (elementwise operands). */
export type Input = Tensor | Scalar;

/**
 * Intercepts ops. While a mode is installed, `dispatch` calls `mode.call`
 * with the checked inputs and attributes and the inferred output meta,
 * instead of computing; composite ops arrive as one call. A mode that wants
 * the eager result calls `execute`.
 */
export interface Mode {
  call<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor;
  /** A tensor's data is about to be read (`data`, `toArray`, `item`): where a tracer breaks its graph. */
  read?(t: Tensor): void;
  /**
   * `t.backward(gradient)` was called (arguments checked): a tracer takes
   * the backward pass into its graph. Without it, backward() under the mode
   * is an error.
   */
  backward?(t: Tensor, gradient: Tensor | null, retainGraph: boolean): void;
}

let mode: Mode | null = null;

export function getMode(): Mode | null {
  return mode;
}

/** Installs `m` (null: none) and returns the previous mode. */
export function setMode(m: Mode | null): Mode | null {
  const prev = mode;
  mode = m;
  return prev;
}

/** Runs `fn` with `m` installed, restoring the previous mode afterwards. */
export function withMode<T>(m: Mode | null, fn: () => T): T {
  const prev = setMode(m);
  try {
    return fn();
  } finally {
    setMode(prev);
  }
}

/**
 * Checks what arrives at run time whatever the types said: every input is a
 * live Tensor or, where `scalars` (elementwise operands), a JS number or
 * boolean. Named after `op` and the input's position.
 */
export function checkInputs(op: string, inputs: readonly unknown[], scalars: boolean): void {
  inputs.forEach((x, i) => {
    if (x instanceof Tensor) {
      if (x.isDisposed) throw new KilnError(`input ${i}, ${x.describe()}, was disposed`, { op });
    } else if (!scalars || (typeof x !== 'number' && typeof x !== 'boolean')) {
      throw new KilnError(`input ${i} must be a Tensor${scalars ? ', a number or a boolean' : ''}, got ${show(x)}`, { op });
    }
  });
}

/** The one entry point of every op. */
export function dispatch<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N]): Tensor {
  checkInputs(op, inputs, OPS[op].kind === 'elementwise');
  const meta = inferMeta(op, inputs, attrs);
  if (mode === null) return runRecorded(op, inputs, attrs, meta);
  // Under a mode (the tracer) nothing is recorded for backward: compiled training builds its own backward graph.
  const identity = RETURNS_INPUT[op as CompositeOp] as ((ins: readonly Input[], a: AttrsOf[N]) => boolean) | undefined;
  return identity?.(inputs, attrs) ? (inputs[0] as Tensor) : mode.call(op, inputs, attrs, meta);
}

/** Runs an op eagerly on its device (inputs already checked, `meta` from inference). */
export function execute<N extends OpName>(op: N, inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta): Tensor {
  const run: Executor<N> = EXECUTORS[op];
  try {
    return run(inputs, attrs, meta, op);
  } catch (e) {
    throw inContext(e, op, meta);
  }
}

/** A device's memory error raised below an op names the op and the tensor it was making (once, at the innermost op). */
export function inContext(e: unknown, op: string, meta: { dtype: string; shape: readonly number[] }): unknown {
  return e instanceof DeviceMemoryError && e.op === 'webgpu' ? e.withContext(op, `${meta.dtype}${shapeStr(meta.shape)}`) : e;
}

type Executor<N extends OpName> = (inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta, op: N) => Tensor;

/** Inputs are checked by inference before any executor runs, so positions hold what the op expects. */
const tensorAt = (inputs: readonly Input[], i: number) => inputs[i] as Tensor;

function operand(x: Input, op: string, shape: readonly number[]): Operand {
  if (x instanceof Tensor) return { storage: x.storage, view: expand(op, x.layout, shape) };
  const dtype = scalarDtype(x);
  // A float scalar takes part as float32, as PyTorch converts it: 3.5e38 is Infinity.
  return { value: dtype === 'float32' ? Math.fround(Number(x)) : Number(x), dtype };
}

/** A new tensor of `meta` whose elements `kernel` writes (freed again if the kernel throws). */
function produce(op: string, meta: TensorMeta, kernel: (out: TensorRef) => void): Tensor {
  checkNumel(op, 'the result of shape', meta.shape);
  const out = new Tensor(allocStorage(meta.device, meta.dtype, numelOf(meta.shape)), contiguousView(meta.shape));
  try {
    if (out.numel > 0) kernel(out.ref('kernel'));
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/** dst[i] = src[i] converted to dst's dtype; src has dst's shape. */
function copyInto(op: string, src: Operand, dst: TensorRef): void {
  const from = isTensorRef(src) ? src.storage.dtype : src.dtype;
  getBackend(dst.storage.device, op).elementwise('cast', [src], dst, elementwiseTypes('cast', [from], dst.storage.dtype));
}

function contiguousCopy(x: Tensor, op: string): Tensor {
  return produce(op, x, (out) => copyInto(op, x.ref(op), out));
}

const runElementwise: Executor<ElementwiseOp> = (inputs, attrs, meta, op) => {
  const operands = inputs.map((x) => operand(x, op, meta.shape));
  const dtypes = operands.map((o) => (isTensorRef(o) ? o.storage.dtype : o.dtype));
  const types = elementwiseTypes(op, dtypes, 'dtype' in attrs ? attrs.dtype : undefined);
  return produce(op, meta, (out) => getBackend(meta.device, op).elementwise(op, operands, out, types));
};

const runReduce: Executor<ReduceOp> = (inputs, attrs, meta, op) => {
  const x = tensorAt(inputs, 0);
  const dims = reduceDims(op, x.shape, attrs.dim);
  return produce(op, meta, (out) => {
    // Kernels see the output without keepdim's size-1 dims (same contiguous storage).
    const flat = { storage: out.storage, view: contiguousView(reducedShape(x.shape, dims, false)) };
    getBackend(meta.device, op).reduce(op, x.ref(op), flat, dims);
  });
};

function runMovement<N extends MovementOp>(inputs: readonly Input[], attrs: AttrsOf[N], _meta: TensorMeta, op: N): Tensor {
  const x = tensorAt(inputs, 0);
  const rule: MovementRule<N> = MOVEMENT[op];
  const view = rule(x.layout, attrs);
  if (view) return new Tensor(x.storage, view);
  // Not expressible as a view of x: view a contiguous copy instead.
  const copy = contiguousCopy(x, op);
  const out = new Tensor(copy.storage, rule(copy.layout, attrs)!);
  copy.dispose();
  return out;
}

/** The outermost composite op being decomposed: what errors from its pieces name (embedding, not gather). */
let composite: string | undefined;

function runComposite<N extends CompositeOp>(inputs: readonly Input[], attrs: AttrsOf[N], meta: TensorMeta, op: N): Tensor {
  const decomposition: Decomposition<N> = DECOMPOSITIONS[op];
  const outer = composite;
  composite ??= op;
  let out: Tensor;
  try {
    out = tidy(() => decomposition(inputs, attrs));
  } finally {
    composite = outer;
  }
  if (shapeStr(out.shape) !== shapeStr(meta.shape) || out.dtype !== meta.dtype) {
    throw new KilnError(`internal: the decomposition gave ${out.describe()}, inference promised ${meta.dtype}${shapeStr(meta.shape)}`, {
      op,
    });
  }
  return out;
}

function mapKeys<K extends string, V>(table: Record<K, unknown>, value: V): Record<K, V> {
  return Object.fromEntries(Object.keys(table).map((k) => [k, value])) as Record<K, V>;
}

const EXECUTORS: { [N in OpName]: Executor<N> } = {
  ...mapKeys(ELEMENTWISE, runElementwise),
  ...mapKeys(REDUCTIONS, runReduce),
  ...mapKeys(MOVEMENT, runMovement),
  ...mapKeys(DECOMPOSITIONS, runComposite),

  matmul: (inputs, _attrs, meta) => {
    const [a, b] = [tensorAt(inputs, 0), tensorAt(inputs, 1)];
    // 1-D operands become matrices; the result drops those dims again (a free reshape of contiguous data).
    const av = a.ndim === 1 ? unsqueeze('matmul', a.layout, 0) : a.layout;
    const bv = b.ndim === 1 ? unsqueeze('matmul', b.layout, 1) : b.layout;
    const [m, k, n] = [av.shape.at(-2)!, av.shape.at(-1)!, bv.shape.at(-1)!];
    const batch = meta.shape.slice(0, meta.shape.length - (a.ndim > 1 ? 1 : 0) - (b.ndim > 1 ? 1 : 0));
    return produce('matmul', meta, (out) => {
      getBackend(meta.device, 'matmul').matmul(
        { storage: a.storage, view: expand('matmul', av, [...batch, m, k]) },
        { storage: b.storage, view: expand('matmul', bv, [...batch, k, n]) },
        { storage: out.storage, view: contiguousView([...batch, m, n]) },
      );
    });
  },

  cat: (inputs, attrs, meta) =>
    produce('cat', meta, (out) => {
      const d = attrs.dim < 0 ? attrs.dim + meta.shape.length : attrs.dim;
      let start = 0;
      for (const x of inputs as readonly Tensor[]) {
        const size = x.shape[d]!;
        const part = slice('cat', out.view, d, start, start + size, 1);
        if (size > 0) copyInto('cat', x.ref('cat'), { storage: out.storage, view: part });
        start += size;
      }
    }),

  gather: (inputs, attrs, meta) => {
    const [x, index] = [tensorAt(inputs, 0), tensorAt(inputs, 1)];
    const d = attrs.dim < 0 ? attrs.dim + x.ndim : attrs.dim;
    const op = composite ?? 'gather';
    return produce('gather', meta, (out) => getBackend(meta.device, 'gather').gather(x.ref('gather'), index.ref('gather'), out, d, op));
  },

  full: (_inputs, attrs, meta) => produce('full', meta, (out) => copyInto('full', operand(attrs.value, 'full', []), out)),

  arange: (_inputs, attrs, meta) =>
    produce('arange', meta, (out) => getBackend(meta.device, 'arange').arange(out, attrs.start, attrs.step)),

  rand: (_inputs, _attrs, meta) => {
    const { seed, offset } = takeRandom(numelOf(meta.shape));
    return produce('rand', meta, (out) => getBackend(meta.device, 'rand').random(out, 'uniform', seed, offset));
  },
  randn: (_inputs, _attrs, meta) => {
    const { seed, offset } = takeRandom(numelOf(meta.shape));
    return produce('randn', meta, (out) => getBackend(meta.device, 'randn').random(out, 'normal', seed, offset));
  },

  copy_: (inputs) => {
    const [dst, src] = [tensorAt(inputs, 0), tensorAt(inputs, 1)];
    checkWritable('copy_', dst);
    // Reading and writing one storage could overwrite elements before they are read: copy the source first.
    const source = src.storage === dst.storage ? contiguousCopy(src, 'copy_') : src;
    copyInto('copy_', operand(source, 'copy_', dst.shape), dst.ref('copy_'));
    if (source !== src) source.dispose();
    dst.storage.version++;
    return dst;
  },

  scatterView: (inputs, attrs, meta) => {
    const [base, src] = [tensorAt(inputs, 0), tensorAt(inputs, 1)];
    return produce('scatterView', meta, (out) => {
      copyInto('scatterView', base.ref('scatterView'), out);
      copyInto('scatterView', src.ref('scatterView'), {
        storage: out.storage,
        view: { shape: attrs.shape, strides: attrs.strides, offset: attrs.offset },
      });
    });
  },

  fill_: (inputs, attrs) => {
    const dst = tensorAt(inputs, 0);
    checkWritable('fill_', dst);
    copyInto('fill_', operand(attrs.value, 'fill_', []), dst.ref('fill_'));
    dst.storage.version++;
    return dst;
  },

  to: (inputs, attrs) => {
    const x = tensorAt(inputs, 0);
    if (x.device === attrs.device) return new Tensor(x.storage, x.layout);
    const from = getBackend(x.device, 'to');
    if (!from.readSync) {
      throw new KilnError(
        `${x.describe()} cannot be moved to ${attrs.device} synchronously; read it with await t.data() and create a new tensor`,
        {
          op: 'to',
        },
      );
    }
    const storage = uploadStorage(attrs.device, from.readSync(x.ref('to')));
    return new Tensor(storage, contiguousView(x.shape));
  },
};

/** In-place ops cannot write through a broadcast view: several elements would share one memory location. */
export function checkWritable(op: string, t: Tensor): void {
  // An empty tensor has no elements to share (its contiguous strides can be 0).
  if (t.numel > 0 && t.shape.some((s, d) => s > 1 && t.strides[d] === 0)) {
    throw new KilnError(`cannot write into ${t.describe()}: it is a broadcast (expanded) view whose elements share memory`, { op });
  }
}
