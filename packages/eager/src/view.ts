/**
 * Strided views: how a tensor's logical elements map onto its storage.
 * Movement ops (permute, expand, slice, reshape when possible, ...) only
 * rewrite a View; they never touch data. The same type is used by the
 * inductor, where a View becomes index arithmetic.
 *
 * Every function takes the name of the op it serves so that its errors name it.
 */
import { KilnError } from '@kiln/gpu-runtime';

/** Element `[i0, i1, ...]` lives at `offset + sum(ik * strides[k])` in the storage (in elements). */
export interface View {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export function contiguousView(shape: readonly number[], offset = 0): View {
  return { shape: [...shape], strides: contiguousStrides(shape), offset };
}

/** Row-major and dense (size-1 dims may have any stride; empty views count as contiguous). */
export function isContiguous(v: View): boolean {
  let expected = 1;
  for (let d = v.shape.length - 1; d >= 0; d--) {
    const size = v.shape[d];
    if (size === 0) return true;
    if (size !== 1 && v.strides[d] !== expected) return false;
    expected *= size;
  }
  return true;
}

/** Python-style dim: -1 is the last; anything outside [-rank, rank) is an error naming the op and rank. */
export function normalizeDim(op: string, dim: number, rank: number): number {
  const r = Math.max(rank, 1); // a 0-d tensor accepts dim 0 and -1, like PyTorch
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new KilnError(`dim ${dim} is out of range for a tensor of rank ${rank} (expected ${-r}..${r - 1})`, { op });
  }
  return dim < 0 ? dim + r : dim;
}

/** Several dims, normalized, sorted and checked for repeats. */
export function normalizeDims(op: string, dims: readonly number[], rank: number): number[] {
  const out = dims.map((d) => normalizeDim(op, d, rank)).sort((a, b) => a - b);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new KilnError(`dim ${out[i]} appears more than once in ${shapeStr(dims)}`, { op });
  }
  return rank === 0 ? [] : out;
}

/** NumPy broadcasting of any number of shapes. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 1; i <= s.length; i++) {
      const a = out[rank - i];
      const b = s[s.length - i];
      if (a === b || b === 1) continue;
      if (a !== 1) {
        throw new KilnError(`cannot broadcast shapes ${shapes.map(shapeStr).join(' and ')}`, { op });
      }
      out[rank - i] = b;
    }
  }
  return out;
}

/** `expand`: new leading dims and size-1 dims stretched with stride 0; -1 keeps a size. */
export function expand(op: string, v: View, shape: readonly number[]): View {
  const lead = shape.length - v.shape.length;
  const fail = () => new KilnError(`cannot expand shape ${shapeStr(v.shape)} to ${shapeStr(shape)}`, { op });
  if (lead < 0) throw fail();
  const strides = new Array<number>(shape.length);
  const outShape = new Array<number>(shape.length);
  for (let d = 0; d < shape.length; d++) {
    const want = shape[d];
    if (d < lead) {
      if (want < 0) throw fail();
      outShape[d] = want;
      strides[d] = 0;
      continue;
    }
    const have = v.shape[d - lead];
    const size = want === -1 ? have : want;
    if (size !== have && have !== 1) throw fail();
    outShape[d] = size;
    strides[d] = size === have ? v.strides[d - lead] : 0;
  }
  return { shape: outShape, strides, offset: v.offset };
}

export function permute(op: string, v: View, dims: readonly number[]): View {
  const rank = v.shape.length;
  const norm = dims.map((d) => normalizeDim(op, d, rank));
  if (norm.length !== rank || new Set(norm).size !== rank) {
    throw new KilnError(`dims ${shapeStr(dims)} are not a permutation of the ${rank} dims of ${shapeStr(v.shape)}`, { op });
  }
  return { shape: norm.map((d) => v.shape[d]), strides: norm.map((d) => v.strides[d]), offset: v.offset };
}

export function transpose(op: string, v: View, dim0: number, dim1: number): View {
  const rank = v.shape.length;
  if (rank === 0) {
    normalizeDim(op, dim0, 0);
    normalizeDim(op, dim1, 0);
    return v;
  }
  const order = Array.from({ length: rank }, (_, i) => i);
  const a = normalizeDim(op, dim0, rank);
  const b = normalizeDim(op, dim1, rank);
  order[a] = b;
  order[b] = a;
  return permute(op, v, order);
}

export function unsqueeze(op: string, v: View, dim: number): View {
  const d = normalizeDim(op, dim, v.shape.length + 1);
  const shape = [...v.shape];
  const strides = [...v.strides];
  // Any stride is valid for a size-1 dim; this one keeps contiguous views contiguous.
  const stride = d < v.shape.length ? v.shape[d] * v.strides[d] : 1;
  shape.splice(d, 0, 1);
  strides.splice(d, 0, stride);
  return { shape, strides, offset: v.offset };
}

/** Removes the given size-1 dims (all size-1 dims when `dims` is null); other dims are left alone, like PyTorch. */
export function squeeze(op: string, v: View, dims: readonly number[] | null): View {
  const drop = new Set(dims === null ? v.shape.keys() : normalizeDims(op, dims, v.shape.length));
  const keep = v.shape.map((_, d) => d).filter((d) => !(drop.has(d) && v.shape[d] === 1));
  return { shape: keep.map((d) => v.shape[d]), strides: keep.map((d) => v.strides[d]), offset: v.offset };
}

/**
 * The view `shape`/`strides`/`offset` of the elements of a 1-D contiguous
 * `v` (a storage's elements, as functionalization reads and writes them):
 * strides non-negative, every element inside `v`. Null when `v` is not
 * 1-D contiguous (the caller copies first).
 */
export function asStrided(op: string, v: View, shape: readonly number[], strides: readonly number[], offset: number): View | null {
  if (shape.length !== strides.length)
    throw new KilnError(`shape ${shapeStr(shape)} and strides ${shapeStr(strides)} differ in rank`, { op });
  if (v.shape.length !== 1) throw new KilnError(`expects a 1-D tensor (a storage's elements), got shape ${shapeStr(v.shape)}`, { op });
  const last = numelOf(shape) === 0 ? 0 : offset + shape.reduce((n, s, d) => n + (s - 1) * strides[d]!, 0);
  if (last >= Math.max(v.shape[0]!, 1) && numelOf(shape) > 0) {
    throw new KilnError(
      `the view ${shapeStr(shape)} with strides ${shapeStr(strides)} at offset ${offset} reaches element ${last}, past the ${v.shape[0]} elements`,
      { op },
    );
  }
  if (!isContiguous(v)) return null;
  return { shape: [...shape], strides: [...strides], offset: v.offset + offset };
}

/** Python's slice bounds `start:end` on a dim of `size`: negative counts from the end, clamped to [0, size], end >= start. */
export function sliceBounds(size: number, start: number, end: number): [number, number] {
  const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clamp(start);
  return [s, Math.max(clamp(end), s)];
}

/** Python slicing `start:end:step` along one dim (negative bounds count from the end, then clamp). */
export function slice(op: string, v: View, dim: number, start: number, end: number, step: number): View {
  const d = normalizeDim(op, dim, v.shape.length);
  if (v.shape.length === 0) throw new KilnError('cannot slice a 0-d tensor', { op });
  if (!Number.isInteger(step) || step <= 0) throw new KilnError(`step must be a positive integer, got ${step}`, { op });
  const [s, e] = sliceBounds(v.shape[d], start, end);
  const shape = [...v.shape];
  const strides = [...v.strides];
  shape[d] = Math.ceil((e - s) / step);
  strides[d] = v.strides[d] * step;
  return { shape, strides, offset: v.offset + s * v.strides[d] };
}

/** Resolves one -1 in a target shape and checks the element count. */
export function inferShape(op: string, from: readonly number[], to: readonly number[]): number[] {
  const numel = numelOf(from);
  const holes = to.filter((s) => s === -1).length;
  const known = numelOf(to.filter((s) => s !== -1));
  const bad = holes > 1 || to.some((s) => !Number.isInteger(s) || s < -1) || (holes === 1 && known === 0);
  const out = to.map((s) => (s === -1 ? numel / known : s));
  if (bad || numelOf(out) !== numel || !out.every(Number.isInteger)) {
    throw new KilnError(`cannot reshape a tensor of shape ${shapeStr(from)} (${numel} elements) to ${shapeStr(to)}`, { op });
  }
  return out;
}

/**
 * The view of `v` with a new shape of the same size, without copying, or
 * null when the strides do not allow it (the caller then copies to a
 * contiguous buffer). This is PyTorch's computeStride: old dims are grouped
 * into chunks that are contiguous among themselves, and each chunk must be
 * split exactly by the new dims.
 */
export function reshape(v: View, shape: readonly number[]): View | null {
  if (numelOf(shape) <= 1) return { shape: [...shape], strides: contiguousStrides(shape), offset: v.offset };
  const strides = new Array<number>(shape.length);
  let viewD = shape.length - 1;
  let chunkStride = v.strides[v.shape.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = v.shape.length - 1; d >= 0; d--) {
    tensorNumel *= v.shape[d];
    if (d === 0 || (v.shape[d - 1] !== 1 && v.strides[d - 1] !== tensorNumel * chunkStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        strides[viewD] = viewNumel * chunkStride;
        viewNumel *= shape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkStride = v.strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? { shape: [...shape], strides, offset: v.offset } : null;
}

/** The target shape of `flatten(startDim, endDim)`. */
export function flattenShape(op: string, shape: readonly number[], startDim: number, endDim: number): number[] {
  if (shape.length === 0) return [1];
  const s = normalizeDim(op, startDim, shape.length);
  const e = normalizeDim(op, endDim, shape.length);
  if (s > e) throw new KilnError(`startDim ${startDim} comes after endDim ${endDim}`, { op });
  return [...shape.slice(0, s), numelOf(shape.slice(s, e + 1)), ...shape.slice(e + 1)];
}

/**
 * Merges adjacent dims that every operand walks with one stride, and drops
 * size-1 dims, so that loops run over as few dims as possible (a contiguous
 * elementwise op becomes one flat loop). All operands share `shape`.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d];
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * size)) {
      outShape[last] *= size;
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(size);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}
