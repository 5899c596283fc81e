import { probeWebGpu } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import type { MatmulTile } from '../kernels/matmul-wgsl';
import { runMatmul } from './matmul-kernel';

const gpu = await probeWebGpu();

interface Case {
  label: string;
  batch: number;
  M: number;
  K: number;
  N: number;
  transposeB: boolean;
  tile?: MatmulTile;
  /** A subgroup tile for the device's checked subgroup size S (GpuRuntime.subgroupSize). */
  subgroupTile?: (S: number) => MatmulTile;
}
const sgTile = (rows: number, colsPerLane: number, subgroups: number) => (S: number) => ({
  rows: rows * S,
  cols: colsPerLane * S,
  workgroup: [subgroups, 1] as const,
  subgroup: S,
});
const cases: Case[] = [
  { label: 'square 64', batch: 1, M: 64, K: 64, N: 64, transposeB: false },
  { label: 'odd sizes', batch: 1, M: 7, K: 13, N: 5, transposeB: false },
  { label: 'transposed B (weight [N,K] read in place)', batch: 1, M: 33, K: 40, N: 24, transposeB: true },
  { label: 'batched', batch: 3, M: 17, K: 9, N: 12, transposeB: false },
  { label: 'batched, vec4 A and B, ragged rows', batch: 2, M: 22, K: 12, N: 20, transposeB: false },
  { label: 'tile 2x8', batch: 2, M: 19, K: 21, N: 37, transposeB: false, tile: { rows: 2, cols: 8, workgroup: [4, 16] } },
  // Subgroup tiles: blocks past M and N (lanes load clamped rows and store nothing), each variant's loads.
  { label: 'subgroup tile, vec4 A', batch: 2, M: 37, K: 20, N: 44, transposeB: false, subgroupTile: sgTile(2, 4, 4) },
  { label: 'subgroup tile, nt', batch: 1, M: 33, K: 40, N: 24, transposeB: true, subgroupTile: sgTile(1, 2, 2) },
  { label: 'subgroup tile, scalar (odd K)', batch: 3, M: 19, K: 21, N: 37, transposeB: false, subgroupTile: sgTile(1, 1, 3) },
];

describe('runMatmul', () => {
  it.for(cases)('$label matches a float64 reference', async ({ batch, M, K, N, transposeB, tile: given, subgroupTile }, ctx) => {
    if (!gpu.runtime) return ctx.skip(gpu.reason);
    const rt = gpu.runtime;
    const S = rt.subgroupSize;
    if (subgroupTile && S === undefined) return ctx.skip('this device has no fixed subgroup size with consecutive lanes');
    const tile = subgroupTile ? subgroupTile(S!) : given;
    const A = Float32Array.from({ length: batch * M * K }, (_, i) => Math.sin(i * 0.37));
    const B = Float32Array.from({ length: batch * K * N }, (_, i) => Math.cos(i * 0.21)); // logical [batch, K, N]
    // transposeB: store B as [batch, N, K] and view it as [batch, K, N].
    const stored = transposeB
      ? Float32Array.from({ length: B.length }, (_, i) => {
          const b = Math.floor(i / (N * K)),
            n = Math.floor(i / K) % N,
            k = i % K;
          return B[b * K * N + k * N + n]!;
        })
      : B;
    const out = rt.alloc(batch * M * N * 4);
    runMatmul(rt, {
      name: 'matmul',
      a: { buffer: rt.upload(A), dtype: 'float32', shape: [batch, M, K], strides: [M * K, K, 1], offset: 0 },
      b: {
        buffer: rt.upload(stored),
        dtype: 'float32',
        shape: [batch, K, N],
        strides: transposeB ? [N * K, 1, K] : [K * N, N, 1],
        offset: 0,
      },
      out: { buffer: out, dtype: 'float32', shape: [batch, M, N], strides: [M * N, N, 1], offset: 0 },
      ...(tile ? { tile } : {}),
    });
    const got = new Float32Array(await rt.read(out, 0, batch * M * N * 4));
    let worst = 0;
    for (let b = 0; b < batch; b++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let want = 0;
          for (let k = 0; k < K; k++) want += A[b * M * K + m * K + k]! * B[b * K * N + k * N + n]!;
          worst = Math.max(worst, Math.abs(got[b * M * N + m * N + n]! - want));
        }
    expect(worst).toBeLessThan(1e-4 * Math.sqrt(K)); // float32 accumulation over K terms of size <= 1
  });
});
