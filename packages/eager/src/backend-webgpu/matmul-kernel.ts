import type { GpuRuntime } from '@kiln/gpu-runtime';
import { KilnError } from '@kiln/gpu-runtime';
import { numelOf } from '../view';
import { kernelPrelude, type StridedOperand } from './strided-operand';

/**
 * Register blocking: each thread computes a `rows` x `cols` block of C and
 * keeps it in registers, reading A and B straight from storage (no workgroup
 * memory: on lavapipe, shared-memory tiling measured slower). `workgroup` is
 * the thread grid [x over columns, y over rows].
 */
export interface MatmulTile {
  rows: number;
  cols: number;
  workgroup: readonly [number, number];
}

export const DEFAULT_TILE: MatmulTile = { rows: 4, cols: 4, workgroup: [16, 16] };

export interface MatmulSpec {
  name: string;
  /** [...batch, M, K], any strides (a transposed weight is read in place). */
  a: StridedOperand;
  /** [...batch, K, N], any strides; batch dims already broadcast to a's. */
  b: StridedOperand;
  /** Dense [...batch, M, N]. */
  out: StridedOperand;
  tile?: MatmulTile;
}

/** C = A @ B for float32, batched over leading dims, in one dispatch. */
export function runMatmul(rt: GpuRuntime, spec: MatmulSpec): void {
  const { a, b, out } = spec;
  const tile = spec.tile ?? DEFAULT_TILE;
  const rank = a.shape.length;
  const [M, K] = [a.shape[rank - 2]!, a.shape[rank - 1]!];
  const N = b.shape[rank - 1]!;
  const batchShape = a.shape.slice(0, rank - 2);
  const batch = numelOf(batchShape);
  if (M * N * batch === 0) return;
  const perWorkgroup = [tile.workgroup[0] * tile.cols, tile.workgroup[1] * tile.rows];
  const grid: [number, number, number] = [Math.ceil(N / perWorkgroup[0]!), Math.ceil(M / perWorkgroup[1]!), batch];
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (grid.some((g) => g > max)) {
    throw new KilnError(`grid ${grid.join('x')} exceeds ${max} workgroups per dimension; reshape the batch`, { op: 'matmul' });
  }
  // Vector loads need unit inner stride and 4-aligned rows and offsets.
  const aligned = (o: StridedOperand, inner: number) =>
    o.strides[rank - 1] === 1 && inner % 4 === 0 && o.offset % 4 === 0 && o.strides.slice(0, rank - 1).every((s) => s % 4 === 0);
  const vecB = tile.cols % 4 === 0 && aligned(b, N);
  const vecA = vecB && aligned(a, K);
  const info = [
    M, N, K, a.offset, b.offset, out.offset,
    a.strides[rank - 2]!, a.strides[rank - 1]!, b.strides[rank - 2]!, b.strides[rank - 1]!,
    ...batchShape, ...a.strides.slice(0, rank - 2), ...b.strides.slice(0, rank - 2),
  ];
  const wgsl = vecA ? renderMatmulVec4(spec.name, tile, batchShape.length) : renderMatmul(spec.name, tile, batchShape.length, vecB);
  const pipeline = rt.pipeline({ wgsl, label: spec.name });
  rt.dispatch(pipeline, [rt.uniform(new Uint32Array(info)), a.buffer, b.buffer, out.buffer], grid, spec.name);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Element offset of batch `batch` in A (which = 0) or B (1): the batch index unravelled over the batch shape. */
function batchOffset(which: 0 | 1, batchRank: number): string {
  const terms = range(batchRank).map((d) => {
    const inner = range(batchRank - 1 - d).map((e) => `info(${10 + d + 1 + e}u)`);
    const idx = inner.length ? `((batch / (${inner.join(' * ')})) % info(${10 + d}u))` : `(batch % info(${10 + d}u))`;
    return `${idx} * info(${10 + batchRank * (1 + which) + d}u)`;
  });
  return terms.join(' + ') || '0u';
}

/** Shared head of both variants: sizes, strides, batch bases, this thread's block origin. */
function matmulHead(name: string, variant: string, tile: MatmulTile, batchRank: number, bindings: string): string {
  const [wx, wy] = tile.workgroup;
  return `// kiln eager kernel: ${name} (matmul, ${tile.rows}x${tile.cols} per thread, workgroup ${wx}x${wy}, ${variant})
${kernelPrelude(10 + 3 * batchRank)}
${bindings}
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = info(0u); let N = info(1u); let K = info(2u);
  let sam = info(6u); let sak = info(7u); let sbk = info(8u); let sbn = info(9u);
  let batch = gid.z;
  let aBase = info(3u) + ${batchOffset(0, batchRank)};
  let bBase = info(4u) + ${batchOffset(1, batchRank)};
  let cBase = info(5u) + batch * M * N;
  let row0 = gid.y * ${tile.rows}u;
  let col0 = gid.x * ${tile.cols}u;
  if (row0 >= M || col0 >= N) { return; }`;
}

/** Masked stores of this thread's block; `value(i, j)` names C[row0 + i, col0 + j]'s accumulator. */
function matmulStores(tile: MatmulTile, value: (i: number, j: number) => string): string {
  return range(tile.rows)
    .flatMap((i) => range(tile.cols).map((j) => `if (row0 + ${i}u < M && col0 + ${j}u < N) { c[cBase + (row0 + ${i}u) * N + col0 + ${j}u] = ${value(i, j)}; }`))
    .join('\n  ');
}

/**
 * A and B both read as vec4: per 4 steps of k, each row of the block loads
 * one vec4 of A and each of the 4 rows of B one vec4 per 4 columns, and the
 * block is updated with vector FMAs. The fast path for row-major operands.
 */
export function renderMatmulVec4(name: string, tile: MatmulTile, batchRank: number): string {
  const { rows: TM, cols: TN } = tile;
  const V = TN / 4;
  const bindings = `@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;`;
  const body = range(TM).flatMap((i) =>
    range(V).map((v) => `acc[${i * V + v}] = fma(vec4f(av${i}.x), b0_${v}, fma(vec4f(av${i}.y), b1_${v}, fma(vec4f(av${i}.z), b2_${v}, fma(vec4f(av${i}.w), b3_${v}, acc[${i * V + v}]))));`),
  );
  return `${matmulHead(name, 'vec4 A and B', tile, batchRank, bindings)}
  var acc: array<vec4f, ${TM * V}>;
  ${range(TM).map((i) => `let aRow${i} = (aBase + min(row0 + ${i}u, M - 1u) * sam) / 4u;`).join('\n  ')}
  for (var k = 0u; k < K; k += 4u) {
    ${range(TM).map((i) => `let av${i} = a4[aRow${i} + k / 4u];`).join('\n    ')}
    ${range(4).flatMap((r) => range(V).map((v) => `let b${r}_${v} = b4[(bBase + (k + ${r}u) * sbk + col0 + ${4 * v}u) / 4u];`)).join('\n    ')}
    ${body.join('\n    ')}
  }
  ${matmulStores(tile, (i, j) => `acc[${i * V + Math.floor(j / 4)}][${j % 4}]`)}
}
`;
}

export function renderMatmul(name: string, tile: MatmulTile, batchRank: number, vecB: boolean): string {
  const { rows: TM, cols: TN } = tile;
  const bLoads = vecB
    ? range(TN / 4).map((v) => `let b${v} = b4[(bRow + col0 + ${4 * v}u) / 4u];`)
    : range(TN).map((j) => `let b${j} = b[bRow + min(col0 + ${j}u, N - 1u) * sbn];`);
  const bAt = (j: number) => (vecB ? `b${Math.floor(j / 4)}[${j % 4}]` : `b${j}`);
  const fmas = range(TM).flatMap((i) => range(TN).map((j) => `acc[${i}][${j}] = fma(a${i}, ${bAt(j)}, acc[${i}][${j}]);`));
  const bindings = `@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> ${vecB ? 'b4: array<vec4f>' : 'b: array<f32>'};`;
  return `${matmulHead(name, vecB ? 'vec4 B' : 'scalar', tile, batchRank, bindings)}
  var acc: array<array<f32, ${TN}>, ${TM}>;
  ${range(TM).map((i) => `let aRow${i} = aBase + min(row0 + ${i}u, M - 1u) * sam;`).join('\n  ')}
  for (var k = 0u; k < K; k++) {
    ${range(TM).map((i) => `let a${i} = a[aRow${i} + k * sak];`).join('\n    ')}
    let bRow = bBase + k * sbk;
    ${bLoads.join('\n    ')}
    ${fmas.join('\n    ')}
  }
  ${matmulStores(tile, (i, j) => `acc[${i}][${j}]`)}
}
`;
}
