/**
 * A float64 reference for tests: plain row-major number arrays and index
 * arithmetic written independently of the kernels (no views, no templates,
 * no generated code), plus the helpers that build test tensors in a given
 * memory layout and compare results with stated tolerances.
 */
import { expect } from 'vitest';
import type { Device } from '../backend';
import { tensor } from '../creation';
import type { DType } from '../dtype';
import type { Tensor } from '../tensor';

/** A reference tensor: shape, row-major values (bool as 0/1), dtype. */
export interface Ref {
  shape: number[];
  data: number[];
  dtype: DType;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function unravel(shape: readonly number[], flat: number): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

export function ravel(shape: readonly number[], idx: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
  return flat;
}

export function build(shape: readonly number[], dtype: DType, f: (idx: number[]) => number): Ref {
  return { shape: [...shape], dtype, data: Array.from({ length: size(shape) }, (_, i) => f(unravel(shape, i))) };
}

export function get(r: Ref, idx: readonly number[]): number {
  return r.data[ravel(r.shape, idx)]!;
}

/** NumPy broadcasting, written out directly. */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, d) => {
    const sizes = shapes.map((s) => s[d - (rank - s.length)] ?? 1);
    const big = sizes.filter((n) => n !== 1);
    if (new Set(big).size > 1) throw new Error(`reference: shapes do not broadcast: ${JSON.stringify(shapes)}`);
    return big[0] ?? 1;
  });
}

/** The element of `r` that broadcasting maps output index `idx` to. */
export function getBroadcast(r: Ref, idx: readonly number[]): number {
  const lead = idx.length - r.shape.length;
  return get(
    r,
    r.shape.map((s, d) => (s === 1 ? 0 : idx[lead + d]!)),
  );
}

/** f applied elementwise with broadcasting; numbers are scalars. */
export function map(dtype: DType, f: (...xs: number[]) => number, ...args: (Ref | number)[]): Ref {
  const refs = args.filter((a): a is Ref => typeof a === 'object');
  const shape = broadcastShape(...refs.map((r) => r.shape));
  return build(shape, dtype, (idx) => f(...args.map((a) => (typeof a === 'number' ? a : getBroadcast(a, idx)))));
}

export function normDims(dims: readonly number[] | null, rank: number): number[] {
  if (dims === null) return Array.from({ length: rank }, (_, d) => d);
  return [...new Set(dims.map((d) => (d < 0 ? d + Math.max(rank, 1) : d)))].filter((d) => d < rank).sort((a, b) => a - b);
}

/** f over the values (in row-major order) each output element combines. */
export function reduce(r: Ref, dims: readonly number[] | null, keepdim: boolean, dtype: DType, f: (xs: number[]) => number): Ref {
  const ds = normDims(dims, r.shape.length);
  const outShape = r.shape.flatMap((s, d) => (ds.includes(d) ? (keepdim ? [1] : []) : [s]));
  const groups = new Map<string, number[]>();
  for (let i = 0; i < r.data.length; i++) {
    const key = unravel(r.shape, i)
      .filter((_, d) => !ds.includes(d))
      .join(',');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r.data[i]!);
  }
  return build(outShape, dtype, (idx) => {
    const keptIdx = keepdim ? idx.filter((_, d) => !ds.includes(d)) : idx;
    return f(groups.get(keptIdx.join(',')) ?? []);
  });
}

/** f over each 1-D slice along `dim` (f returns the slice's new values). */
export function alongDim(r: Ref, dim: number, f: (row: number[]) => number[], dtype: DType = 'float32'): Ref {
  const d = dim < 0 ? dim + r.shape.length : dim;
  const out: Ref = { shape: [...r.shape], dtype, data: new Array<number>(r.data.length).fill(0) };
  for (let i = 0; i < r.data.length; i++) {
    const idx = unravel(r.shape, i);
    if (idx[d] !== 0) continue;
    const positions = Array.from({ length: r.shape[d]! }, (_, j) =>
      ravel(
        r.shape,
        idx.map((v, k) => (k === d ? j : v)),
      ),
    );
    const values = f(positions.map((p) => r.data[p]!));
    positions.forEach((p, j) => (out.data[p] = values[j]!));
  }
  return out;
}

/** PyTorch matmul semantics on references (1-D operands, broadcast batch dims). */
export function matmul(a: Ref, b: Ref): Ref {
  const A = a.shape.length === 1 ? { ...a, shape: [1, a.shape[0]!] } : a;
  const B = b.shape.length === 1 ? { ...b, shape: [b.shape[0]!, 1] } : b;
  const [M, K] = A.shape.slice(-2) as [number, number];
  const N = B.shape.at(-1)!;
  const batch = broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const full = build([...batch, M, N], a.dtype, (idx) => {
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2) as [number, number];
    let s = 0;
    for (let k = 0; k < K; k++) {
      s += getBroadcast(A, [...bi, i, k]) * getBroadcast(B, [...bi, k, j]);
    }
    return a.dtype === 'int32' ? s | 0 : s;
  });
  const shape = [...batch, ...(a.shape.length > 1 ? [M] : []), ...(b.shape.length > 1 ? [N] : [])];
  return { ...full, shape };
}

export function permute(r: Ref, dims: readonly number[]): Ref {
  const ds = dims.map((d) => (d < 0 ? d + r.shape.length : d));
  return build(
    ds.map((d) => r.shape[d]!),
    r.dtype,
    (idx) => {
      const src = new Array<number>(r.shape.length);
      ds.forEach((d, k) => (src[d] = idx[k]!));
      return get(r, src);
    },
  );
}

/** Same values, another shape. */
export function reshaped(r: Ref, shape: readonly number[]): Ref {
  return { ...r, shape: [...shape] };
}

/** The tests' own type promotion (bool < int32 < float32; integral numbers are int32). */
export function promote(args: readonly (Ref | number | boolean)[]): DType {
  const dtypes = args.map((a) =>
    typeof a === 'object' ? a.dtype : typeof a === 'boolean' ? 'bool' : Number.isInteger(a) ? 'int32' : 'float32',
  );
  return dtypes.includes('float32') ? 'float32' : dtypes.includes('int32') ? 'int32' : 'bool';
}

/** Deterministic values (mulberry32), rounded to the dtype. */
export type Domain = 'any' | 'positive' | 'nonzero' | 'halves' | 'int' | 'bool' | 'unit' | { below: number };

export function random(shape: readonly number[], dtype: DType, domain: Domain, seed: number): Ref {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const draw = (): number => {
    const u = next();
    if (typeof domain === 'object') return Math.floor(u * domain.below);
    switch (domain) {
      case 'any':
        return Math.fround(u * 6 - 3);
      case 'positive':
        return Math.fround(0.1 + u * 2.9);
      case 'nonzero':
        return Math.fround((0.25 + u * 2.75) * (next() < 0.5 ? -1 : 1));
      case 'halves':
        return Math.round(u * 16 - 8) / 2;
      case 'int':
        return Math.floor(u * 21) - 10;
      case 'bool':
        return u < 0.5 ? 1 : 0;
      case 'unit':
        return Math.fround(u);
    }
  };
  return { shape: [...shape], dtype, data: Array.from({ length: size(shape) }, draw) };
}

function typed(r: Ref, data: number[]) {
  return r.dtype === 'float32' ? Float32Array.from(data) : r.dtype === 'int32' ? Int32Array.from(data) : Uint8Array.from(data);
}

/** How a test tensor is laid out in memory; the logical values are the same. */
export type Layout = 'contiguous' | 'strided';

/**
 * A tensor holding `r` on `device`. 'strided': a view that is not
 * contiguous — a transpose of the last two dims for rank >= 2, every other
 * element of a larger buffer for rank 1, an element at offset 1 for 0-d.
 */
export function toTensor(r: Ref, device: Device, layout: Layout = 'contiguous'): Tensor {
  const rank = r.shape.length;
  if (layout === 'contiguous' || size(r.shape) === 0) return tensor(typed(r, r.data), { device }).reshape(r.shape);
  if (rank === 0)
    return tensor(typed(r, [0, r.data[0]!, 0]), { device })
      .slice(0, 1, 2)
      .reshape([]);
  if (rank === 1) {
    const n = r.shape[0]!;
    const spread = Array.from({ length: 2 * n + 1 }, (_, i) => (i % 2 === 1 ? r.data[(i - 1) / 2]! : 0));
    return tensor(typed(r, spread), { device }).slice(0, 1, 2 * n + 1, 2);
  }
  const swapped = permute(r, [...Array(rank - 2).keys(), rank - 1, rank - 2]);
  return tensor(typed(r, swapped.data), { device }).reshape(swapped.shape).transpose(-1, -2);
}

/** |actual - expected| <= atol + rtol * |expected| elementwise (NaN equals NaN; infinities exactly). */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/** The correctness rule's float32 tolerance (docs/ARCHITECTURE.md). */
export const FLOAT32: Tolerance = { rtol: 1e-4, atol: 1e-5 };

export async function expectClose(t: Tensor, expected: Ref, tol: Tolerance = FLOAT32): Promise<void> {
  expect(t.shape).toEqual(expected.shape);
  expect(t.dtype).toBe(expected.dtype);
  const got = Array.from(await t.data());
  const exact = expected.dtype !== 'float32';
  const bad = got.findIndex((g, i) => {
    const e = expected.data[i]!;
    if (exact) return g !== (expected.dtype === 'bool' ? Number(e !== 0) : e);
    if (Number.isNaN(e) || !Number.isFinite(e)) return !Object.is(g, e) && !(Number.isNaN(g) && Number.isNaN(e)) && g !== e;
    return !(Math.abs(g - e) <= tol.atol + tol.rtol * Math.abs(e));
  });
  if (bad >= 0) {
    expect.fail(
      `element ${bad} (index ${unravel(expected.shape, bad).join(',')}): got ${got[bad]}, expected ${expected.data[bad]} ` +
        `(rtol ${tol.rtol}, atol ${tol.atol}); ${got.length} elements`,
    );
  }
}

/** erf in float64 from its everywhere-convergent series 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (2n+1)!!. */
export function erf(x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 400 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** Philox4x32-10 with BigInt arithmetic: a second, independent implementation for checking the kernels. */
export function philoxRef(counter: readonly number[], key: readonly number[]): number[] {
  const mask = 0xffffffffn;
  let c = counter.map(BigInt);
  let k = key.map(BigInt);
  for (let r = 0; r < 10; r++) {
    if (r > 0) k = [(k[0]! + 0x9e3779b9n) & mask, (k[1]! + 0xbb67ae85n) & mask];
    const p0 = 0xd2511f53n * c[0]!;
    const p1 = 0xcd9e8d57n * c[2]!;
    c = [((p1 >> 32n) ^ c[1]! ^ k[0]!) & mask, p1 & mask, ((p0 >> 32n) ^ c[3]! ^ k[1]!) & mask, p0 & mask];
  }
  return c.map(Number);
}

/** The generator's stream (see ../random) from the reference Philox: uniform or normal values at positions offset... */
export function streamRef(n: number, dist: 'uniform' | 'normal', seed: number, offset = 0): number[] {
  const key = [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
  return Array.from({ length: n }, (_, i) => {
    const g = offset + i;
    const block = Math.floor(g / 4);
    const w = philoxRef([block % 2 ** 32, Math.floor(block / 2 ** 32), 0, 0], key);
    const j = g % 4;
    if (dist === 'uniform') return Math.floor(w[j]! / 256) / 2 ** 24;
    const u1 = (Math.floor(w[j & 2]! / 256) + 1) / 2 ** 24;
    const u2 = Math.floor(w[(j & 2) + 1]! / 256) / 2 ** 24;
    const r = Math.sqrt(-2 * Math.log(u1));
    return j % 2 === 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
  });
}

// ------------------------------------------------- composites (conformance and gradient checks)

const total = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

export function softmaxRow(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = total(e);
  return e.map((x) => x / s);
}

export const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Normalizes rows over the last `k` dims with `f(row) -> row`. */
export function overLast(r: Ref, k: number, f: (row: number[]) => number[]): Ref {
  const inner = size(r.shape.slice(r.shape.length - k));
  const data: number[] = [];
  for (let i = 0; i < r.data.length; i += inner) data.push(...f(r.data.slice(i, i + inner)));
  return { shape: [...r.shape], dtype: 'float32', data };
}

/** Normalizes over the last `k` dims to mean 0 and (biased) variance 1, then scales by `w` and shifts by `b` where given. */
export function layerNormRef(x: Ref, k: number, eps: number, w?: Ref, b?: Ref): Ref {
  const y = overLast(x, k, (row) => {
    const m = total(row) / row.length;
    const v = total(row.map((e) => (e - m) ** 2)) / row.length;
    return row.map((e) => (e - m) / Math.sqrt(v + eps));
  });
  const scaled = w ? map('float32', (a, c) => a * c, y, w) : y;
  return b ? map('float32', (a, c) => a + c, scaled, b) : scaled;
}

/** Divides by the root mean square over the last `k` dims, then scales by `w` where given. */
export function rmsNormRef(x: Ref, k: number, eps: number, w?: Ref): Ref {
  const y = overLast(x, k, (row) => {
    const ms = total(row.map((e) => e * e)) / row.length;
    return row.map((e) => e / Math.sqrt(ms + eps));
  });
  return w ? map('float32', (a, c) => a * c, y, w) : y;
}

/** logsumexp(logits[n]) - logits[n, targets[n]] for each row n of logits [N, C]. */
export function crossEntropyRows(logits: Ref, targets: Ref): number[] {
  const C = logits.shape[1]!;
  return targets.data.map((target, n) => {
    const row = logits.data.slice(n * C, n * C + C);
    const m = Math.max(...row);
    return m + Math.log(total(row.map((x) => Math.exp(x - m)))) - row[target]!;
  });
}

/** softmax(q kᵀ * scale + mask) v, batch dims broadcast; `causal` masks keys after the query. */
export function attentionRef(q: Ref, k: Ref, v: Ref, o: { causal?: boolean; mask?: Ref; scale?: number }): Ref {
  const [L, E] = q.shape.slice(-2) as [number, number];
  const S = k.shape.at(-2)!;
  const Ev = v.shape.at(-1)!;
  const batch = broadcastShape(q.shape.slice(0, -2), k.shape.slice(0, -2), v.shape.slice(0, -2));
  const scale = o.scale ?? 1 / Math.sqrt(E);
  return build([...batch, L, Ev], 'float32', (idx) => {
    const b = idx.slice(0, -2);
    const [i, j] = idx.slice(-2) as [number, number];
    const scores = Array.from({ length: S }, (_, s) => {
      let dot = 0;
      for (let e = 0; e < E; e++) dot += getBroadcast(q, [...b, i, e]) * getBroadcast(k, [...b, s, e]);
      let x = dot * scale;
      if (o.causal && s > i) x = -Infinity;
      if (o.mask) {
        const m = getBroadcast(o.mask, [...b, i, s]);
        x = o.mask.dtype === 'bool' ? (m ? x : -Infinity) : x + m;
      }
      return x;
    });
    const p = softmaxRow(scores);
    return total(p.map((w, s) => w * getBroadcast(v, [...b, s, j])));
  });
}
